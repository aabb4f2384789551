// `stageboot reboot`: reset the node through its watchdog.
import type { Argv, CommandModule } from 'yargs';
import { linkOptions, output, withClient, type LinkArgs } from '../../ota/cli.ts';

export const rebootCommand: CommandModule<object, LinkArgs> = {
  command: 'reboot',
  describe: 'Reset the node (a pending image is installed on the way)',
  builder: (y: Argv) => linkOptions(y).epilog('Exit status: 0 ok, 1 refused, 2 usage, 3 no reply.') as unknown as Argv<LinkArgs>,
  handler: async (argv) => {
    await withClient(argv, async (c) => {
      await c.reboot();
      output(argv.json, { rebooting: true }, () => 'node is rebooting');
    });
  },
};
