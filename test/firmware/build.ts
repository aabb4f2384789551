// Builds the test firmware (test/firmware/Makefile) on demand and returns where each image is.
// make is incremental, so calling this from every test file costs a few milliseconds once built.
// Several vitest workers may call it at once: a lock directory serialises the make runs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const testFirmwareDir = join(repoRoot, 'build/test-firmware');

export interface TestFirmware {
  /** Optiboot rebuilt for the 328P at 16 MHz / 115200 (496 bytes at 0x7E00). */
  optiboot: string;
  /** An Arduino sketch of ~29 KiB that prints "big sketch: booted" at 115200 after reset. */
  big: string;
}

const STALE_LOCK_MS = 120_000;

function withLock<T>(fn: () => T): T {
  const lock = join(testFirmwareDir, '.lock');
  mkdirSync(testFirmwareDir, { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run would block every later run: break it once it is old.
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmdirSync(lock);
      } catch { /* raced with its owner; retry */ }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(lock);
  }
}

export function buildTestFirmware(): TestFirmware {
  const list = withLock(() => {
    execFileSync('make', ['-s', '--no-print-directory', '-C', join(repoRoot, 'test/firmware'), 'all'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return execFileSync('make', ['-s', '--no-print-directory', '-C', join(repoRoot, 'test/firmware'), 'list'], {
      encoding: 'utf8',
    });
  });
  const paths = new Map(list.trim().split('\n').map((l) => l.split(' ') as [string, string]));
  const get = (name: string) => {
    const p = paths.get(name);
    if (!p) throw new Error(`test/firmware/Makefile does not list ${name}`);
    return p;
  };
  return { optiboot: get('optiboot'), big: get('big') };
}
