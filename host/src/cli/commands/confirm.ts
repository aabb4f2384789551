// `stageboot confirm`: keep the image running on trial.
import type { Argv, CommandModule } from 'yargs';
import { linkOptions, output, withClient, type LinkArgs } from '../../ota/cli.ts';

export const confirmCommand: CommandModule<object, LinkArgs> = {
  command: 'confirm',
  describe: 'Confirm the image running on trial, so it stays after the next reset',
  builder: (y: Argv) => linkOptions(y).epilog('Exit status: 0 ok, 1 refused (no trial running), 2 usage, 3 no reply.') as unknown as Argv<LinkArgs>,
  handler: async (argv) => {
    await withClient(argv, async (c) => {
      await c.confirm();
      output(argv.json, { confirmed: true }, () => 'trial image confirmed');
    });
  },
};
