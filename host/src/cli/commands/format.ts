// `stageboot format [--slots N]`: lay out the node's EEPROM afresh. The host plans the layout
// (protocol/ts/fs.ts) for the chip the node reports and the node writes it; `push` does this
// by itself when the node reports an unformatted EEPROM.
import type { Argv, CommandModule } from 'yargs';
import { FS_MAX_SLOTS } from '../../../../protocol/ts/index.ts';
import { EXIT_USAGE, linkOptions, output, withClient, type LinkArgs } from '../../ota/cli.ts';
import { CliError } from '../errors.ts';

interface Args extends LinkArgs { slots?: number }

export const formatCommand: CommandModule<object, Args> = {
  command: 'format',
  describe: 'Lay out the node\'s EEPROM afresh: every slot and the boot record are lost',
  builder: (y: Argv) => linkOptions(y)
    .option('slots', { type: 'number', describe: 'Slot count (default: 1 on 32 KiB, 2 on 64 KiB, 4 on 128 KiB)' })
    .epilog('Exit status: 0 ok, 1 refused, 2 usage, 3 no reply.') as unknown as Argv<Args>,
  handler: async (argv) => {
    const n = argv.slots;
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > FS_MAX_SLOTS)) throw new CliError(`--slots must be 1 to ${FS_MAX_SLOTS}, not ${n}`, 'bad-slot-count', EXIT_USAGE);
    await withClient(argv, async (c) => {
      const sb = await c.format(argv.slots);
      output(argv.json, { formatted: true, slotCount: sb.slotCount, slotSize: sb.slotSize, dataStart: sb.dataStart },
        () => `formatted: ${sb.slotCount} slot${sb.slotCount === 1 ? '' : 's'} of ${sb.slotSize} bytes`);
    });
  },
};
