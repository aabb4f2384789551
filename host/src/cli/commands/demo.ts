// `stageboot demo`: the main job in one command. A simulated node runs BlinkV1 on the real
// bootloader; BlinkV2 is pushed over the simulated serial link with the progress bar, activated,
// and the node's serial output is shown as v2 boots. With --port the same push goes to a real
// board (which should run BlinkV1 already).
import type { Argv, CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import { EXIT_LINK, EXIT_REFUSED, EXIT_USAGE, say, toCliError, type LinkArgs, linkOptions, openLink } from '../../ota/cli.ts';
import { OtaClient } from '../../ota/client.ts';
import { versionText } from '../../ota/describe.ts';
import { imageFor, loadPushFile } from '../../ota/firmware.ts';
import { progressBar, showProgress } from '../../ota/progress.ts';
import { push } from '../../ota/push.ts';
import { missingFirmware, sketchHex, startSimNode, type RunningSimNode } from '../../ota/sim-node.ts';
import { sleep, realClock, type Clock } from '../../transport/clock.ts';
import type { ByteLink } from '../../transport/link.ts';
import { FRAME_OVERHEAD, FRAME_SOF } from '../../../../protocol/ts/index.ts';

interface Args extends LinkArgs {
  seconds: number;
  speed: number;
  from?: string;
  to?: string;
}

/**
 * Prints what the node writes on its serial line, line by line. Protocol frames share the line
 * (a sketch never prints '~', the frame start): each is skipped whole by its length byte, so
 * replies do not show up as garbage between the node's own lines.
 */
function serialMonitor(link: ByteLink, print: (line: string) => void): { text: () => string; stop: () => void } {
  let all = '';
  let line = '';
  let skip = 0; // bytes of a frame still to skip; -1: the next byte is a frame's length
  const off = link.onData((b) => {
    for (const byte of b) {
      if (skip === -1) { skip = byte + FRAME_OVERHEAD - 2; continue; }
      if (skip > 0) { skip--; continue; }
      if (byte === FRAME_SOF) { skip = -1; continue; }
      if (byte === 0x0a) { if (line.trim()) print(line.trimEnd()); all += line + '\n'; line = ''; continue; }
      if (byte >= 0x20 && byte < 0x7f) line += String.fromCharCode(byte);
    }
  });
  return { text: () => all + line, stop: off };
}

/**
 * The LED's blink rate from the time between its toggles (simulated time), over the toggles
 * since the last call: a rate, not a count, so the watch window's length does not matter.
 */
function ledWatch(sim: RunningSimNode): { hz: () => number | null; stop: () => void } {
  const node = sim.node;
  let edges: number[] = [];
  const off = node.pin('D13').onChange(() => { edges.push(node.seconds); });
  return {
    hz: () => {
      const e = edges;
      edges = [];
      if (e.length < 2) return null;
      return 1 / (2 * ((e[e.length - 1] - e[0]) / (e.length - 1))); // two toggles a period
    },
    stop: off,
  };
}

export const demoCommand: CommandModule<object, Args> = {
  command: 'demo',
  describe: 'Update a simulated node from BlinkV1 to BlinkV2 (or a real board with --port)',
  builder: (y: Argv) => linkOptions(y)
    .option('seconds', { type: 'number', default: 3, describe: 'How long to watch the node after activation (simulated seconds in the simulator)' })
    .option('speed', { type: 'number', default: 1, describe: 'Simulated seconds per second (1: as fast as a board; 0: as fast as this machine can)' })
    .option('from', { type: 'string', describe: 'Firmware the simulated node starts with (default sketch-lib/hex/BlinkV1.hex)' })
    .option('to', { type: 'string', describe: 'Firmware to push (default sketch-lib/hex/BlinkV2.hex)' })
    .epilog('Exit status: 0 v2 running, 1 failed, 2 usage, 3 no reply or link error.') as unknown as Argv<Args>,
  handler: async (argv) => {
    if (!(argv.speed >= 0)) throw new CliError(`--speed must be 0 or more, not ${argv.speed}`, 'bad-speed', EXIT_USAGE);
    const v1 = argv.from ?? sketchHex('BlinkV1');
    const v2 = argv.to ?? sketchHex('BlinkV2');
    const missing = argv.port ? (v2 ? null : missingFirmware(['BlinkV2'])) : missingFirmware(['BlinkV1', 'BlinkV2'].filter((s, i) => !(i === 0 ? argv.from : argv.to)));
    if (missing || !v2) throw new CliError(`demo: ${missing}; run \`make firmware\` first`, 'no-firmware', EXIT_REFUSED);
    const fw = await loadPushFile(v2);
    const log = (s: string) => say(argv.json, s);
    const ledLine = (hz: number | null | undefined) => { if (hz != null) log(`  node | (LED on D13 blinking at ${hz.toFixed(1)} Hz)`); };

    let sim: RunningSimNode | null = null;
    if (!argv.port) {
      sim = startSimNode({ name: 'demo', app: v1!, speed: argv.speed === 0 ? Infinity : argv.speed });
      log(`simulated node: ATmega328P at 16 MHz, stageboot bootloader at 0x${sim.bootStart.toString(16).toUpperCase()}, 24LC256 EEPROM, running ${rel(v1!)}`);
    }
    const link = await openLink({ ...argv, port: argv.port ?? sim!.port });
    const clock: Clock = link.clock ?? realClock;
    const led = sim ? ledWatch(sim) : null;
    // A line from the node starts a new LED measurement: the v2 rate is taken once v2 runs.
    let activatedAt: number | null = null;
    const monitor = serialMonitor(link, (l) => {
      const after = activatedAt === null ? '' : `  (${((clock.now() - activatedAt) / 1000).toFixed(2)} s after activation)`;
      activatedAt = null;
      log(`  node | ${l}${after}`);
      led?.hz();
    });
    const client = new OtaClient(link, { timeoutMs: argv.timeout, retries: argv.retries });
    try {
      await sleep(clock, 1200); // let the application print its banner and blink a little
      const info = await client.info();
      ledLine(led?.hz());
      const img = imageFor(fw, info, { confirms: true });
      log(`pushing ${rel(v2)} (${img.header.length} bytes) over ${link.name} at ${argv.baud} baud`);
      const bar = progressBar(showProgress(argv.json), 'push', () => clock.now());
      const r = await push(client, img, {
        activate: 'now',
        onEvent: (e) => { if (e.kind === 'begin') bar.start(img.header.length, e.resumeBytes); },
        onProgress: (p) => bar.update(p),
      }).finally(() => bar.stop());
      const rate = r.transferMs > 0 ? ` (${((r.bytes - r.resumedFrom) / r.transferMs).toFixed(1)} kB/s)` : '';
      log(`staged in slot ${r.slot}: ${r.bytes} bytes in ${(r.transferMs / 1000).toFixed(2)} s${rate}, the node's CRC-32 matches`);
      log('activated: the node reboots, its bootloader checks the image in the EEPROM and installs it');
      const t0 = clock.now();
      activatedAt = t0;
      while (clock.now() - t0 < argv.seconds * 1000) await sleep(clock, 100);
      const hz = led?.hz() ?? null;
      ledLine(hz);
      const after = await client.info().catch(() => null);
      const booted = monitor.text();
      if (argv.json) process.stdout.write(JSON.stringify({ ok: !!after, slot: r.slot, bytes: r.bytes, transferSeconds: r.transferMs / 1000, appVersion: after ? versionText(after.appVersion) : null, appCrcMatches: after ? after.appCrc === img.header.payloadCrc : false, ledHz: hz, serial: booted }) + '\n');
      if (!after) throw new CliError('the node did not answer after the update', 'no-reply', EXIT_LINK);
      const crc = (n: number) => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
      if (after.appCrc !== img.header.payloadCrc) {
        throw new CliError(`the node runs an application with CRC-32 ${crc(after.appCrc)}, not the pushed image's ${crc(img.header.payloadCrc)}`, 'not-updated', EXIT_REFUSED);
      }
      log(`done: the node runs ${rel(v2)} from slot ${after.current} (its flash CRC-32 ${crc(after.appCrc)} is the image's)`);
    } catch (err) {
      throw toCliError(err);
    } finally {
      led?.stop();
      monitor.stop();
      client.close();
      await link.close().catch(() => undefined);
      sim?.stop();
    }
  },
};

/** A path relative to the working directory when it is inside it: shorter lines. */
function rel(p: string): string {
  const cwd = process.cwd() + '/';
  return p.startsWith(cwd) ? p.slice(cwd.length) : p;
}
