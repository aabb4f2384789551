// What every firmware build for the tests shares. Vitest runs test files in parallel worker
// processes, and several of them may ask for the same firmware at once, so a build must never be
// seen half written. Two ways, one per kind of build:
// - cachedBuild: a folder named by a hash of everything that goes into the build (sources,
//   flags), built under a temporary name and renamed into place; an existing folder is reused.
// - withBuildLock: for incremental `make` runs into fixed folders, one process at a time.
// Everything lands under build/ (never committed).

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD_DIR = join(REPO_ROOT, 'build');

/**
 * A hash of `parts` (flags, names) and of the content of `paths`: a file's bytes, or for a
 * folder every file below it with its relative path, so an added, removed or edited source
 * changes the key.
 */
export function buildKey(parts: readonly unknown[], paths: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(parts));
  for (const p of paths) {
    for (const f of filesBelow(p)) {
      hash.update(`\0${relative(p, f)}\0`);
      hash.update(readFileSync(f));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

function filesBelow(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .map((e) => e.name)
    .sort()
    .flatMap((name) => filesBelow(join(path, name)));
}

/**
 * The folder build/AREA/NAME-KEY, after running `build(tmp)` to fill it if it does not exist.
 * `build` writes into a temporary folder that is then renamed, so another process either finds
 * the finished folder or none.
 */
export function cachedBuild(area: string, name: string, key: string, build: (tmp: string) => void): string {
  const dir = join(BUILD_DIR, area, `${name}-${key}`);
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    build(tmp);
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    // Another process finished the same build first: its result is identical.
    if (!existsSync(dir)) throw err;
  }
  return dir;
}

const LOCK = join(BUILD_DIR, 'test-firmware', '.lock');
const STALE_LOCK_MS = 120_000;

/** Runs `fn` while no other process holds the build lock (for make runs into shared folders). */
export function withBuildLock<T>(fn: () => T): T {
  mkdirSync(dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock left by a killed run would block every later run: break it once it is old.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmdirSync(LOCK);
      } catch { /* raced with its owner; retry */ }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(LOCK);
  }
}
