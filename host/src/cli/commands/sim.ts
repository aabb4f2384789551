// `stageboot sim --pty PATH`: a simulated node (ATmega328P + 24LC EEPROM) behind a pseudo-
// terminal, so avrdude, a terminal or `stageboot` itself can talk to it as to a board on USB.
// Runs until SIGINT/SIGTERM, then removes the pty. The node's serial output goes to stdout
// (raw, or as JSON lines with --json); link and board events go to stderr.
import { BOOT_STARTS, fusesForBootloader, STAGEBOOT_LOCK } from '../../sim/chip/fuses.ts';
import type { Argv, CommandModule } from 'yargs';
import type { Firmware } from '../../formats/load.ts';
import { extent, hex } from '../../formats/memory.ts';
import { Eeprom24, type Eeprom24Model } from '../../sim/parts/eeprom24.ts';
import { SimNode } from '../../sim/node.ts';
import { PtyLink } from '../../sim/link/pty.ts';
import { CliError } from '../errors.ts';
import { EXIT_REFUSED, EXIT_USAGE, loadForCli } from './firmware-input.ts';

const EXIT_LINK = 3;
const EEPROMS = ['24LC256', '24LC512', '24LC1025', 'none'] as const;

interface SimArgs {
  pty: string;
  flash?: string;
  bootloader?: string;
  eeprom: (typeof EEPROMS)[number];
  'eeprom-file'?: string;
  clock: number;
  baud: number;
  speed: number;
  'quiet-ms': number;
  'auto-reset': boolean;
  json: boolean;
}

type Emit = (event: string, fields: Record<string, unknown>) => void;

export const simCommand: CommandModule<object, SimArgs> = {
  command: 'sim',
  describe: 'Run a simulated node behind a pseudo-terminal (for avrdude, a terminal or stageboot)',
  builder: (y: Argv) =>
    y
      .option('pty', { type: 'string', demandOption: true, describe: 'Path of the pty to create (a symlink to /dev/pts/N)' })
      .option('flash', { type: 'string', describe: 'Application to program at 0 (Intel HEX, ELF or .bin)' })
      .option('bootloader', { type: 'string', describe: 'Bootloader to program; its start address sets BOOTSZ and BOOTRST is programmed' })
      .option('eeprom', { choices: EEPROMS, default: '24LC256' as const, describe: 'External I2C EEPROM at 0x50' })
      .option('eeprom-file', { type: 'string', describe: 'Backing file of the EEPROM: loaded if it exists, saved after each write cycle' })
      .option('clock', { type: 'number', default: 16e6, describe: 'CPU clock in Hz (16e6 or 8e6)' })
      .option('baud', { type: 'number', default: 115200, describe: 'Baud rate of the host side of the serial line' })
      .option('speed', { type: 'number', default: 1, describe: 'Simulated seconds per wall-clock second (1 = real time, as avrdude expects)' })
      .option('quiet-ms', { type: 'number', default: 400, describe: 'Host silence after which the next byte starts a session (external reset)' })
      .option('auto-reset', { type: 'boolean', default: true, describe: 'Reset the node at the start of each session (--no-auto-reset to disable)' })
      .example('$0 sim --pty /tmp/node0 --bootloader optiboot.hex', 'then: avrdude -c arduino -p m328p -P /tmp/node0 -b 115200 -U flash:w:app.hex')
      .epilog(
        'A pty has no DTR line: the first byte after --quiet-ms of silence resets the node, as the\n' +
          "auto-reset circuit of an Arduino does when a program opens the port.\n" +
          'Exit status: 0 stopped by SIGINT/SIGTERM, 1 a firmware file is malformed or does not fit, 2 usage error, 3 the pty could not be created.',
      ) as unknown as Argv<SimArgs>,
  handler: async (argv) => {
    checkArgs(argv);
    const emit = emitter(argv.json);
    const node = await buildNode(argv, emit);
    const stop = stopper();
    const link = await openLink(node, argv, emit, stop.fail);
    emit('ready', { pty: link.path, device: link.device, clockHz: node.clockHz, eeprom: argv.eeprom, resetVector: hex(node.pcByte) });
    const why = await stop.done;
    await link.close();
    emit('stopped', { ...why, ...link.stats, resets: node.resets.length });
    if ('error' in why) throw new CliError(`the simulation stopped: ${why.error}`, 'sim-error', EXIT_REFUSED);
  },
};

function checkArgs(argv: SimArgs): void {
  if (!(argv.clock > 0) || argv.clock > 32e6) throw new CliError(`--clock must be a frequency in Hz up to 32e6, not ${argv.clock}`, 'bad-clock', EXIT_USAGE);
  if (!(argv.baud > 0)) throw new CliError(`--baud must be positive, not ${argv.baud}`, 'bad-baud', EXIT_USAGE);
  if (!(argv.speed > 0)) throw new CliError(`--speed must be positive, not ${argv.speed}`, 'bad-speed', EXIT_USAGE);
  if (!(argv['quiet-ms'] >= 0)) throw new CliError(`--quiet-ms must be 0 or more, not ${argv['quiet-ms']}`, 'bad-quiet', EXIT_USAGE);
  if (argv['eeprom-file'] && argv.eeprom === 'none') throw new CliError('--eeprom-file needs an EEPROM; drop --eeprom none', 'eeprom-file-without-eeprom', EXIT_USAGE);
}

/** Human mode: serial bytes raw on stdout, events on stderr. JSON mode: one object per line on stdout. */
function emitter(json: boolean): Emit {
  if (json) return (event, fields) => process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
  return (event, fields) => {
    if (event === 'serial') process.stdout.write(Buffer.from(fields.text as string, 'latin1'));
    else if (event === 'log') process.stderr.write(`stageboot sim: ${fields.line}\n`);
    else if (event === 'ready') process.stderr.write(`stageboot sim: node on ${fields.pty} (${fields.device}); Ctrl-C stops it\n`);
    else if (event === 'stopped') process.stderr.write(`stageboot sim: stopped after ${(fields.simSeconds as number).toFixed(1)} s simulated, ${fields.sessions} session(s)\n`);
  };
}

async function buildNode(argv: SimArgs, emit: Emit): Promise<SimNode> {
  const boot = argv.bootloader ? await loadForCli(argv.bootloader) : undefined;
  const app = argv.flash ? await loadForCli(argv.flash) : undefined;
  const eeprom = argv.eeprom === 'none' ? false : new Eeprom24({ model: argv.eeprom as Eeprom24Model, file: argv['eeprom-file'] });
  // The chip comes up unpowered so the firmware is in flash before the power-on reset.
  const node = new SimNode({
    clockHz: argv.clock,
    baud: argv.baud,
    eeprom,
    fuses: boot ? fusesForBootloader(bootStartOf(boot), STAGEBOOT_LOCK) : { high: 0xdf }, // no bootloader: BOOTRST off
    powered: false,
    log: (line) => emit('log', { line }),
  });
  if (app) program(node, app, 0, boot ? bootStartOf(boot) : 0x8000);
  if (boot) program(node, boot, bootStartOf(boot), 0x8000);
  node.powerOn();
  return node;
}

function bootStartOf(boot: Firmware): number {
  const start = extent(boot.segments)?.start;
  if (start === undefined || !(BOOT_STARTS as readonly number[]).includes(start)) {
    const where = start === undefined ? 'holds no flash bytes' : `starts at ${hex(start)}`;
    throw new CliError(`${boot.name} ${where}; a bootloader must start at a boot section: 0x7000, 0x7800, 0x7C00 or 0x7E00`, 'bad-bootloader', EXIT_REFUSED);
  }
  return start;
}

function program(node: SimNode, fw: Firmware, from: number, to: number): void {
  for (const seg of fw.segments) {
    if (seg.address < from || seg.address + seg.data.length > to) {
      throw new CliError(`${fw.name} has bytes at ${hex(seg.address)}..${hex(seg.address + seg.data.length)}, outside ${hex(from)}..${hex(to)}`, 'does-not-fit', EXIT_REFUSED);
    }
    node.loadFlash(seg.data, seg.address);
  }
}

async function openLink(node: SimNode, argv: SimArgs, emit: Emit, fail: (err: unknown) => void): Promise<PtyLink> {
  try {
    return await PtyLink.open(node, {
      path: argv.pty,
      speed: argv.speed,
      autoReset: argv['auto-reset'] ? { quietSeconds: argv['quiet-ms'] / 1000 } : false,
      onSerial: (bytes) => emit('serial', { text: Buffer.from(bytes).toString('latin1') }),
      log: (line) => emit('log', { line }),
      onError: fail,
    });
  } catch (err) {
    throw new CliError(`cannot create the pty ${argv.pty}: ${(err as Error).message}`, 'pty-failed', EXIT_LINK);
  }
}

type StopReason = { signal: NodeJS.Signals } | { error: string };

/** Resolves on SIGINT/SIGTERM, or when the simulation or socat fails. */
function stopper(): { done: Promise<StopReason>; fail: (err: unknown) => void } {
  let finish!: (why: StopReason) => void;
  const done = new Promise<StopReason>((resolve) => (finish = resolve));
  const on = (signal: NodeJS.Signals) => finish({ signal });
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  void done.then(() => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  });
  return { done, fail: (err) => finish({ error: String((err as Error)?.message ?? err) }) };
}
