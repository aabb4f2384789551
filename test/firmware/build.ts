// Builds the test firmware (test/firmware/Makefile) on demand and returns where each image is.
// make is incremental, so calling this from every test file costs a few milliseconds once built.
// Several vitest workers may call it at once: the build lock serialises the make runs.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, withBuildLock } from '../../host/src/sim/build-cache.ts';

export const repoRoot = REPO_ROOT;

export interface TestFirmware {
  /** Optiboot rebuilt for the 328P at 16 MHz / 115200 (496 bytes at 0x7E00). */
  optiboot: string;
  /** An Arduino sketch of ~29 KiB that prints "big sketch: booted" at 115200 after reset. */
  big: string;
}

export function buildTestFirmware(): TestFirmware {
  const list = withBuildLock(() => {
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
