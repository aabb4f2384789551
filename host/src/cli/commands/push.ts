// `stageboot push FILE [--slot N] [--activate now|later|trial]`: stage an image on the node
// over its serial line, resuming a partial transfer of the same image, then optionally
// activate it. The file is loaded and checked before the port is opened; the image is checked
// against the node (chip, room below the bootloader, slot size, backup room) before BEGIN.
import type { Argv, CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import { parseVersion } from './firmware-input.ts';
import { modeWords } from './activate.ts';
import { EXIT_USAGE, linkOptions, note, output, say, withClient, type LinkArgs } from '../../ota/cli.ts';
import type { ActivateModeName } from '../../ota/client.ts';
import { hexWord } from '../../ota/describe.ts';
import { imageFor, loadPushFile } from '../../ota/firmware.ts';
import { progressBar, showProgress } from '../../ota/progress.ts';
import { push, type PushResult } from '../../ota/push.ts';

interface Args extends LinkArgs {
  file: string;
  slot?: number;
  activate?: ActivateModeName;
  chunk?: number;
  window?: number;
  target?: string;
  'app-version'?: string;
  confirms: boolean;
  force: boolean;
}

export const pushCommand: CommandModule<object, Args> = {
  command: 'push <file>',
  describe: 'Send a firmware image to a node\'s EEPROM slot (resumes a partial transfer), optionally activate it',
  builder: (y: Argv) => linkOptions(y)
    .positional('file', { type: 'string', demandOption: true, describe: 'Intel HEX, ELF, raw .bin or stageboot image (.sbim)' })
    .option('slot', { alias: 's', type: 'number', describe: 'Slot to fill; default: one holding part of this image, else a free one' })
    .option('activate', { alias: 'a', choices: ['now', 'later', 'trial'] as const, describe: 'Install it after staging: now, at the next reset, or for trial' })
    .option('chunk', { type: 'number', describe: 'Payload bytes per DATA frame; default: the most the node and link allow' })
    .option('window', { type: 'number', describe: 'At most this many frames in flight (default: the node\'s window)' })
    .option('target', { alias: 't', type: 'string', describe: 'Part a HEX/bin file is for (default: from the file, else ATmega328P)' })
    .option('app-version', { type: 'string', describe: 'Version recorded for a HEX/ELF/bin file: major.minor.patch' })
    .option('confirms', { type: 'boolean', default: false, describe: 'The application confirms trial boots (links the stageboot runtime)' })
    .option('force', { type: 'boolean', default: false, describe: 'Send even if the slot already holds this image, staged' })
    .example('$0 push blink.hex --activate now', 'stage and install blink.hex on the only serial port')
    .epilog('Exit status: 0 staged (and activated), 1 refused or failed (wrong target, too big, CRC mismatch, slot in use), 2 usage, 3 no reply or link error.') as unknown as Argv<Args>,
  handler: async (argv) => {
    for (const k of ['chunk', 'window', 'slot'] as const) {
      const v = argv[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new CliError(`--${k} must be a whole number, not ${v}`, `bad-${k}`, EXIT_USAGE);
    }
    const appVersion = argv['app-version'] === undefined ? undefined : parseVersion(argv['app-version']);
    const fw = await loadPushFile(argv.file);
    const result = await withClient(argv, async (c) => {
      const info = await c.info();
      const img = imageFor(fw, info, { target: argv.target, appVersion, confirms: argv.confirms });
      const bar = progressBar(showProgress(argv.json));
      let started = false;
      try {
        return await push(c, img, {
          slot: argv.slot, chunkSize: argv.chunk, window: argv.window, activate: argv.activate, force: argv.force,
          onEvent: (e) => {
            if (e.kind === 'slot') say(argv.json, `pushing ${fw.name} (${img.header.length} bytes, CRC ${hexWord(img.header.payloadCrc)}) to slot ${e.slot} (${e.reason}) over ${c.link.name}`);
            if (e.kind === 'begin') {
              if (e.resumeBytes > 0) say(argv.json, `resuming at byte ${e.resumeBytes}: the node already holds the rest`);
              if (!started) { bar.start(img.header.length, e.resumeBytes); started = true; }
            }
            if (e.kind === 'format') note(`the node's EEPROM was not formatted: formatted it with ${e.slotCount} slot${e.slotCount === 1 ? '' : 's'}`);
            if (e.kind === 'retry') note(`${e.reason}; resuming (attempt ${e.attempt})`);
            if (e.kind === 'already-staged') say(argv.json, `slot ${e.slot} already holds this image, staged: nothing to send (use --force to send it again)`);
          },
          onProgress: (p) => bar.update(p),
        });
      } finally {
        if (started) bar.stop();
      }
    });
    output(argv.json, summary(result), () => human(result));
  },
};

function summary(r: PushResult): Record<string, unknown> {
  return {
    slot: r.slot, bytes: r.bytes, resumedFrom: r.resumedFrom, alreadyStaged: r.alreadyStaged, chunkSize: r.chunkSize, window: r.window,
    framesSent: r.framesSent, resentChunks: r.resentChunks, timeouts: r.timeouts, resumes: r.resumes,
    transferSeconds: r.transferMs / 1000, totalSeconds: r.totalMs / 1000, nodeCrc: hexWord(r.nodeCrc), activated: r.activated ?? null,
  };
}

function human(r: PushResult): string {
  const sent = r.bytes - r.resumedFrom;
  const rate = r.transferMs > 0 ? ` in ${(r.transferMs / 1000).toFixed(2)} s (${(sent / r.transferMs).toFixed(1)} kB/s)` : '';
  const extra = [r.resentChunks && `${r.resentChunks} chunks resent`, r.resumes && `${r.resumes} resumes`].filter(Boolean).join(', ');
  const lines = [`staged in slot ${r.slot}: ${r.bytes} bytes, node CRC ${hexWord(r.nodeCrc)} ok${r.alreadyStaged ? '' : `; sent ${sent} bytes${rate}`}${extra ? ` (${extra})` : ''}`];
  if (r.activated) lines.push(`activated (${r.activated}): ${modeWords[r.activated]}`);
  return lines.join('\n');
}

