// The push progress bar on stderr: bytes acknowledged, rate and time left. Shown only on a
// terminal and never with --json, so scripts and logs get clean output.
import cliProgress from 'cli-progress';
import type { TransferProgress } from './transfer.ts';

export interface ProgressBar {
  start(total: number, already: number): void;
  update(p: TransferProgress): void;
  stop(): void;
}

const none: ProgressBar = { start() {}, update() {}, stop() {} };

/**
 * `now` (ms) is the clock rates and ETAs are measured on: the link's, so a simulated node shows
 * the rate a board would reach, whatever pace the simulator runs at.
 */
export function progressBar(enabled: boolean, label = 'push', now: () => number = () => performance.now()): ProgressBar {
  if (!enabled) return none;
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: `${label} |{bar}| {percentage}% | {value}/{total} B | {rate} | ETA {etaText}`,
    barsize: 30,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  let t0 = 0;
  let base = 0;
  return {
    start(total, already) {
      t0 = now();
      base = already;
      bar.start(total, already, { rate: '-', etaText: '-' });
    },
    update(p) {
      const s = (now() - t0) / 1000;
      const rate = s > 0 ? (p.ackedBytes - base) / s : 0;
      const left = rate > 0 ? (p.totalBytes - p.ackedBytes) / rate : NaN;
      bar.update(p.ackedBytes, { rate: rate > 0 ? `${(rate / 1000).toFixed(1)} kB/s` : '-', etaText: Number.isFinite(left) ? `${left.toFixed(1)} s` : '-' });
    },
    stop() {
      bar.stop();
    },
  };
}

export function showProgress(json: boolean): boolean {
  return !json && process.stderr.isTTY === true;
}
