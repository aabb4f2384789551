// `stageboot demo`: the main job in one command. A simulated node runs BlinkV1 on the real
// bootloader; BlinkV2 is pushed over the simulated serial link with the progress bar, activated,
// and the node's serial output is shown as v2 boots. With --port the same push goes to a real
// board (which should run BlinkV1 already).
import type { Argv, CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import { EXIT_REFUSED, say, toCliError, type LinkArgs, linkOptions, openLink } from '../../ota/cli.ts';
import { OtaClient } from '../../ota/client.ts';
import { imageFor, loadPushFile } from '../../ota/firmware.ts';
import { progressBar, showProgress } from '../../ota/progress.ts';
import { push } from '../../ota/push.ts';
import { missingFirmware, sketchHex, startSimNode, type RunningSimNode } from '../../ota/sim-node.ts';
import { sleep, realClock } from '../../transport/clock.ts';
import type { ByteLink } from '../../transport/link.ts';

interface Args extends LinkArgs {
  seconds: number;
  from?: string;
  to?: string;
}

/** Prints what the node writes on its serial line, line by line, outside protocol frames. */
function serialMonitor(link: ByteLink, print: (line: string) => void): { text: () => string; stop: () => void } {
  let all = '';
  let line = '';
  const off = link.onData((b) => {
    for (const byte of b) {
      if (byte === 0x0a) { if (line.trim()) print(line.trimEnd()); line = ''; continue; }
      const ch = byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '';
      line += ch;
      all += ch || (byte === 0x0a ? '\n' : '');
    }
  });
  return { text: () => all, stop: off };
}

export const demoCommand: CommandModule<object, Args> = {
  command: 'demo',
  describe: 'Update a simulated node from BlinkV1 to BlinkV2 (or a real board with --port)',
  builder: (y: Argv) => linkOptions(y)
    .option('seconds', { type: 'number', default: 3, describe: 'How long to watch the node after activation (simulated seconds in the simulator)' })
    .option('from', { type: 'string', describe: 'Firmware the simulated node starts with (default sketch-lib/hex/BlinkV1.hex)' })
    .option('to', { type: 'string', describe: 'Firmware to push (default sketch-lib/hex/BlinkV2.hex)' })
    .epilog('Exit status: 0 v2 running, 1 failed, 2 usage, 3 no reply or link error.') as unknown as Argv<Args>,
  handler: async (argv) => {
    const v1 = argv.from ?? sketchHex('BlinkV1');
    const v2 = argv.to ?? sketchHex('BlinkV2');
    const missing = argv.port ? (v2 ? null : missingFirmware(['BlinkV2'])) : missingFirmware(['BlinkV1', 'BlinkV2'].filter((s, i) => !(i === 0 ? argv.from : argv.to)));
    if (missing || !v2) throw new CliError(`demo: ${missing}; run \`make firmware\` first`, 'no-firmware', EXIT_REFUSED);
    const fw = await loadPushFile(v2);
    const log = (s: string) => say(argv.json, s);

    let sim: RunningSimNode | null = null;
    if (!argv.port) {
      sim = startSimNode({ name: 'demo', app: v1! });
      log(`simulated ATmega328P with the stageboot bootloader (boot section at 0x${sim.bootStart.toString(16)}) and ${v1}, on ${sim.port}`);
    }
    const link = await openLink({ ...argv, port: argv.port ?? sim!.port });
    const clock = link.clock ?? realClock;
    const monitor = serialMonitor(link, (l) => log(`  node | ${l}`));
    const client = new OtaClient(link, { timeoutMs: argv.timeout, retries: argv.retries });
    try {
      await sleep(realClock, 300); // let the application print its banner
      const info = await client.info();
      const img = imageFor(fw, info, { confirms: true });
      log(`pushing ${v2} (${img.header.length} bytes) over ${link.name}`);
      const bar = progressBar(showProgress(argv.json));
      const r = await push(client, img, {
        activate: 'now',
        onEvent: (e) => { if (e.kind === 'begin') bar.start(img.header.length, e.resumeBytes); },
        onProgress: (p) => bar.update(p),
      }).finally(() => bar.stop());
      log(`staged in slot ${r.slot} (${r.bytes} bytes in ${(r.transferMs / 1000).toFixed(2)} s${link.clock ? ' simulated' : ''}), node CRC ok; activated: the node reboots and installs it`);
      const t0 = clock.now();
      const before = monitor.text().length;
      while (clock.now() - t0 < argv.seconds * 1000) await sleep(realClock, 100);
      const after = await client.info().catch(() => null);
      const v2Text = monitor.text().slice(before);
      if (argv.json) process.stdout.write(JSON.stringify({ ok: true, slot: r.slot, bytes: r.bytes, transferSeconds: r.transferMs / 1000, appVersion: after?.appVersion ?? null, serial: v2Text }) + '\n');
      if (!after) throw new CliError('the node did not answer after the update', 'no-reply', 3);
      log(`the node now runs slot ${after.current} (application version ${after.appVersion >>> 16}.${(after.appVersion >>> 8) & 0xff}.${after.appVersion & 0xff})`);
    } catch (err) {
      throw toCliError(err);
    } finally {
      monitor.stop();
      client.close();
      await link.close().catch(() => undefined);
      sim?.stop();
    }
  },
};
