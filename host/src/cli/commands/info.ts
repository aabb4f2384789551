// `stageboot info`: who the node is (INFO) and what its slots hold.
import type { Argv, CommandModule } from 'yargs';
import { infoJson, infoText, slotJson, slotLine } from '../../ota/describe.ts';
import { linkOptions, output, withClient, type LinkArgs } from '../../ota/cli.ts';

export const infoCommand: CommandModule<object, LinkArgs> = {
  command: 'info',
  describe: 'Show the node: chip, bootloader, running application, EEPROM and slots',
  builder: (y: Argv) => linkOptions(y).epilog('Exit status: 0 ok, 1 refused, 2 usage, 3 no reply or link error.') as unknown as Argv<LinkArgs>,
  handler: async (argv) => {
    await withClient(argv, async (c) => {
      const info = await c.info();
      const slots = info.slotCount ? await c.slots() : [];
      output(argv.json, { port: c.link.name, ...infoJson(info), slots: slots.map(slotJson) }, () => [infoText(info), ...slots.map(slotLine)].join('\n'));
    });
  },
};
