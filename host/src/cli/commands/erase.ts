// `stageboot erase SLOT`: mark a slot empty.
import type { Argv, CommandModule } from 'yargs';
import { linkOptions, output, parseSlot, withClient, type LinkArgs } from '../../ota/cli.ts';

interface Args extends LinkArgs { slot: number }

export const eraseCommand: CommandModule<object, Args> = {
  command: 'erase <slot>',
  describe: 'Mark a slot empty (refused for a pending slot or a trial\'s backup)',
  builder: (y: Argv) => linkOptions(y)
    .positional('slot', { type: 'number', demandOption: true, describe: 'Slot number' })
    .epilog('Exit status: 0 ok, 1 refused (no such slot, slot in use), 2 usage, 3 no reply.') as unknown as Argv<Args>,
  handler: async (argv) => {
    const slot = parseSlot(argv.slot);
    await withClient(argv, async (c) => {
      await c.erase(slot);
      output(argv.json, { slot, erased: true }, () => `slot ${slot} erased`);
    });
  },
};
