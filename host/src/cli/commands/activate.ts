// `stageboot activate SLOT [--mode now|later|trial]`: install a staged image.
import type { Argv, CommandModule } from 'yargs';
import { linkOptions, output, parseSlot, withClient, type LinkArgs } from '../../ota/cli.ts';
import type { ActivateModeName } from '../../ota/client.ts';

interface Args extends LinkArgs { slot: number; mode: ActivateModeName }

export const modeWords: Record<ActivateModeName, string> = {
  now: 'the node reboots and installs it now',
  later: 'it will be installed at the next reset',
  trial: 'the node reboots into it for trial; it reverts unless the application confirms',
};

export const activateCommand: CommandModule<object, Args> = {
  command: 'activate <slot>',
  describe: 'Install a staged slot: now, at the next reset (later), or for trial',
  builder: (y: Argv) => linkOptions(y)
    .positional('slot', { type: 'number', demandOption: true, describe: 'Slot holding a staged image' })
    .option('mode', { alias: 'm', choices: ['now', 'later', 'trial'] as const, default: 'now' as const, describe: 'When and how to install' })
    .epilog('Exit status: 0 ok, 1 refused (not staged, slot in use, no room for a backup), 2 usage, 3 no reply.') as unknown as Argv<Args>,
  handler: async (argv) => {
    const slot = parseSlot(argv.slot);
    await withClient(argv, async (c) => {
      await c.activate(slot, argv.mode);
      output(argv.json, { slot, mode: argv.mode }, () => `slot ${slot} activated: ${modeWords[argv.mode]}`);
    });
  },
};
