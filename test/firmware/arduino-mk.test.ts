// mk/arduino.mk: what scripts/firmware.sh and every test relying on committed hex files need
// from it: the same sketch gives the same hex wherever it is built from, and a change of
// flags is not hidden by stale objects.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './build.ts';

function build(sketch: string, out: string, ...vars: string[]): { hex: string; size: string } {
  const size = execFileSync('make', ['-s', '-f', join(repoRoot, 'mk/arduino.mk'), `SKETCH=${sketch}`, `BUILD=${out}`, 'LIBS=Wire', ...vars], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return { hex: readFileSync(join(out, 'big.hex'), 'utf8'), size };
}

describe('mk/arduino.mk', () => {
  it('builds the same hex from another checkout location and build folder', () => {
    const a = build('test/firmware/sketches/big', mkdtempSync(join(tmpdir(), 'mk-a-')));
    const elsewhere = join(mkdtempSync(join(tmpdir(), 'mk-src-')), 'big');
    cpSync(join(repoRoot, 'test/firmware/sketches/big'), elsewhere, { recursive: true });
    const b = build(elsewhere, mkdtempSync(join(tmpdir(), 'mk-b-')));
    expect(b.hex).toBe(a.hex);
    expect(a.size).toMatch(/text\s+data\s+bss/); // avr-size is printed after each link
  });

  it('rebuilds when F_CPU changes, and the 8 MHz code differs', () => {
    const out = mkdtempSync(join(tmpdir(), 'mk-f-'));
    const fast = build('test/firmware/sketches/big', out, 'F_CPU=16000000L');
    const slow = build('test/firmware/sketches/big', out, 'F_CPU=8000000L');
    expect(slow.hex).not.toBe(fast.hex);
    expect(build('test/firmware/sketches/big', out, 'F_CPU=16000000L').hex).toBe(fast.hex);
  });
});
