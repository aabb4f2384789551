// `stageboot confirm`: keep the image running on trial.
import type { Argv, CommandModule } from 'yargs';
import { linkOptions, output, withClient, type LinkArgs } from '../../ota/cli.ts';

export const confirmCommand: CommandModule<object, LinkArgs> = {
  command: 'confirm',
  describe: 'Confirm the image running on trial, so it stays after the next reset',
  builder: (y: Argv) => linkOptions(y).epilog(
    'Applications should confirm themselves: call confirm() once their own self-test passes. ' +
    'This command is for links that do not reset the node when opened (a radio gateway, a USB-serial ' +
    'adapter without DTR): opening an Arduino\'s USB port pulses DTR, which resets the board, and any ' +
    'reset before the confirm reverts the trial.\n\n' +
    'Exit status: 0 ok, 1 refused (no trial running), 2 usage, 3 no reply.') as unknown as Argv<LinkArgs>,
  handler: async (argv) => {
    await withClient(argv, async (c) => {
      await c.confirm();
      output(argv.json, { confirmed: true }, () => 'trial image confirmed');
    });
  },
};
