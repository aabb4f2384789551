import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildKey } from './build-cache.ts';

describe('buildKey (what names a cached firmware build)', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('changes when any file of a library folder is edited, added or renamed, not otherwise', () => {
    dir = mkdtempSync(join(tmpdir(), 'stageboot-key-'));
    const lib = join(dir, 'MyLib');
    mkdirSync(join(lib, 'src'), { recursive: true });
    writeFileSync(join(lib, 'src', 'a.cpp'), 'int a;');
    const first = buildKey(['Wire', 16e6], [lib]);
    expect(buildKey(['Wire', 16e6], [lib])).toBe(first);

    writeFileSync(join(lib, 'src', 'a.cpp'), 'int a = 1;');
    const edited = buildKey(['Wire', 16e6], [lib]);
    expect(edited).not.toBe(first);

    writeFileSync(join(lib, 'src', 'b.h'), '');
    const added = buildKey(['Wire', 16e6], [lib]);
    expect(added).not.toBe(edited);

    rmSync(join(lib, 'src', 'b.h'));
    writeFileSync(join(lib, 'src', 'c.h'), '');
    expect(buildKey(['Wire', 16e6], [lib])).not.toBe(added);
    expect(buildKey(['Wire', 8e6], [lib])).not.toBe(buildKey(['Wire', 16e6], [lib]));
  });
});
