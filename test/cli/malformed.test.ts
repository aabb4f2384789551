// Malformed HEX through the commands that write something (pack, eeprom build) and the one
// that talks to a node (push): each refuses with the file's line and fault, exits 1, and
// writes nothing — no output file, and no byte to the node.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'hex');
const malformed = readdirSync(fixtures).filter((f) => f.endsWith('.hex') && !f.startsWith('valid') && f !== 'overlap-same-data.hex');

async function json(args: string[]) {
  const r = await runCli(...args, '--json');
  return { code: r.code, body: r.json() as { error: { code: string; message: string } } };
}

describe.each(malformed)('%s', (file) => {
  const input = join(fixtures, file);

  it('pack and eeprom build refuse it with its line and write no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageboot-bad-'));
    for (const args of [['pack', input, '-o', join(dir, 'out.sbim')], ['eeprom', 'build', input, '-o', join(dir, 'e.bin')]]) {
      const r = await json(args);
      expect(r.code).toBe(1);
      expect(r.body.error.code).toMatch(/^hex-/);
      expect(r.body.error.message).toMatch(new RegExp(`${file}( line \\d+|:)`));
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('push refuses it before opening the port', async () => {
    const port = join(mkdtempSync(join(tmpdir(), 'stageboot-bad-')), 'never-opened');
    // The port does not exist: had push opened it first, it would fail with a link error (exit 3).
    const r = await json(['push', input, '--port', port]);
    expect(r.code).toBe(1);
    expect(r.body.error.code).toMatch(/^hex-/);
  });
});
