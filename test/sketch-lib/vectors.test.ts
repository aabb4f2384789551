// The C protocol core of the Arduino library (sketch-lib/src/sb_core.cpp), compiled for the host
// with g++, against protocol/vectors/ and against the TypeScript codecs on random inputs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACK_WINDOW, FRAME_SOF } from '../../protocol/generated/protocol.ts';
import { crc16, crc32 } from '../../protocol/ts/crc.ts';
import { encodeFrame, FrameDecoder, type Frame } from '../../protocol/ts/frame.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const harness = join(root, 'sketch-lib/build/host/vectors');
/** Largest frame payload the node takes: a DATA frame of SB_MAX_CHUNK (64) bytes. */
const NODE_MAX_PAYLOAD = 66;

function vectors(name: string): string[][] {
  return readFileSync(join(root, 'protocol/vectors', name), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(' '));
}

/** Runs the C harness once over many command lines; one answer line each. */
function ask(commands: string[]): string[] {
  const out = execFileSync(harness, { input: commands.join('\n') + '\n', encoding: 'utf8' });
  const lines = out.split('\n').slice(0, -1);
  expect(lines.length).toBe(commands.length);
  return lines;
}

const hex = (b: Uint8Array) => (b.length ? Buffer.from(b).toString('hex') : '-');

let seed = 0x2545f491;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}
function bytes(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rand(256));
}

beforeAll(() => {
  execFileSync('make', ['-s', '-C', join(root, 'sketch-lib'), 'host-test'], { stdio: 'pipe' });
});

describe('sketch-lib C core against protocol/vectors', () => {
  it('computes CRC-16/CCITT-FALSE and CRC-32 as the vectors say', () => {
    for (const [name, cmd] of [['crc16.txt', 'crc16'], ['crc32.txt', 'crc32']]) {
      const v = vectors(name);
      expect(ask(v.map(([input]) => `${cmd} ${input}`))).toEqual(v.map(([, want]) => want));
    }
  });

  it('encodes every frame of frames.txt byte for byte', () => {
    const v = vectors('frames.txt');
    expect(ask(v.map(([type, seq, payload]) => `frame ${type} ${seq} ${payload}`))).toEqual(v.map((f) => f[3]));
  });

  it('decodes the frames of frames.txt that fit its buffer, and ignores the longer ones', () => {
    const v = vectors('frames.txt');
    const got = ask(v.map((f) => `decode ${f[3]}`));
    v.forEach(([type, seq, payload], i) => {
      const fits = payload === '-' || payload.length / 2 <= NODE_MAX_PAYLOAD;
      expect(got[i]).toBe(fits ? `${type} ${seq} ${payload}` : 'none');
    });
  });

  it('accepts the valid image headers of images.txt and refuses the corrupted ones', () => {
    const v = vectors('images.txt');
    expect(ask(v.map((f) => `header ${f[3]}`))).toEqual(v.map((f) => (f[0] === 'valid' ? 'valid' : 'bad')));
  });

  it('picks the record copy and the next seq and copy to write as records.txt says', () => {
    const v = vectors('records.txt');
    expect(ask(v.map(([kind, a, b]) => `pick ${kind} ${a} ${b}`))).toEqual(v.map((f) => f.slice(3).join(' ')));
  });
});

describe('sketch-lib C core against the TypeScript codecs on random input', () => {
  it('agrees on CRCs and frame encoding for 300 random payloads', () => {
    const cases = Array.from({ length: 300 }, () => ({ type: rand(256), seq: rand(256), payload: bytes(rand(251)) }));
    const got = ask(cases.flatMap((c) => [`crc16 ${hex(c.payload)}`, `crc32 ${hex(c.payload)}`, `frame ${c.type.toString(16)} ${c.seq.toString(16)} ${hex(c.payload)}`]));
    cases.forEach((c, i) => {
      expect(got[3 * i]).toBe(crc16(c.payload).toString(16).padStart(4, '0'));
      expect(got[3 * i + 1]).toBe(crc32(c.payload).toString(16).padStart(8, '0'));
      expect(got[3 * i + 2]).toBe(hex(encodeFrame(c)));
    });
  });

  it('finds the same frames as FrameDecoder in streams with garbage, lost and flipped bytes, and idle gaps', () => {
    const streams: number[][] = [];
    for (let s = 0; s < 200; s++) {
      const parts: number[] = [];
      for (let k = 0; k < 6; k++) {
        const frame = Array.from(encodeFrame({ type: rand(256), seq: rand(256), payload: bytes(rand(NODE_MAX_PAYLOAD + 1)) }));
        const fault = rand(6);
        if (fault === 0) frame.splice(rand(frame.length), 1); // a lost byte
        if (fault === 1) frame[rand(frame.length)] ^= 1 << rand(8); // a flipped bit
        if (fault === 2) parts.push(...bytes(rand(8)), FRAME_SOF, rand(256)); // noise with a false SOF
        if (fault === 3) parts.push(-1); // the line goes quiet here
        parts.push(...frame);
      }
      if (rand(2)) parts.push(-1);
      streams.push(parts);
    }
    const got = ask(streams.map((s) => `decode ${s.map((b) => (b < 0 ? '.' : b.toString(16).padStart(2, '0'))).join('')}`));
    streams.forEach((s, i) => {
      const dec = new FrameDecoder(NODE_MAX_PAYLOAD);
      const frames: Frame[] = [];
      let run: number[] = [];
      for (const b of [...s, -2]) {
        if (b >= 0) { run.push(b); continue; }
        frames.push(...dec.push(Uint8Array.from(run)));
        run = [];
        if (b === -1) frames.push(...dec.idle());
      }
      const want = frames.map((f) => `${f.type.toString(16)} ${f.seq.toString(16)} ${hex(f.payload)}`);
      expect(got[i]).toBe(want.length ? want.join(';') : 'none');
    });
  });

  it('keeps the acknowledgement window as WIRE.md defines it', () => {
    // A model of the window: the set of written chunks; cumulative = first hole.
    const written = new Set<number>();
    let cum = 0;
    let sel = 0;
    const commands: string[] = [];
    const expected: string[] = [];
    for (let step = 0; step < 400; step++) {
      const chunk = Math.max(0, cum + rand(ACK_WINDOW + 4) - 2);
      commands.push(`ack ${cum} ${sel} ${chunk}`);
      let verdict: string;
      if (written.has(chunk) || chunk < cum) verdict = 'dup';
      else if (chunk > cum + ACK_WINDOW) verdict = 'beyond';
      else {
        verdict = 'new';
        written.add(chunk);
        while (written.has(cum)) cum++;
        sel = 0;
        for (let i = 0; i < ACK_WINDOW; i++) if (written.has(cum + 1 + i)) sel |= 1 << i;
      }
      expected.push(`${verdict} ${cum} ${sel}`);
    }
    // Each command carries the model's state before it, so one pass checks every transition.
    expect(ask(commands)).toEqual(expected);
  });
});
