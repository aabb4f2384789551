// `stageboot slots`: every slot record and the boot record.
import type { Argv, CommandModule } from 'yargs';
import { bootJson, slotJson, slotLine } from '../../ota/describe.ts';
import { linkOptions, output, withClient, type LinkArgs } from '../../ota/cli.ts';

export const slotsCommand: CommandModule<object, LinkArgs> = {
  command: 'slots',
  describe: 'List the node\'s slots (state, image, role) and its boot record',
  builder: (y: Argv) => linkOptions(y).epilog('Exit status: 0 ok, 1 refused, 2 usage, 3 no reply or link error.') as unknown as Argv<LinkArgs>,
  handler: async (argv) => {
    await withClient(argv, async (c) => {
      const slots = await c.slots();
      const boot = await c.boot();
      const b = bootJson(boot);
      output(argv.json, { slots: slots.map(slotJson), boot: b }, () =>
        [...slots.map(slotLine), `boot: ${b.state}${b.trial ? ' (trial)' : ''}, current slot ${b.current ?? 'none'}, backup ${b.backup ?? 'none'}, last result ${b.result}`].join('\n'));
    });
  },
};
