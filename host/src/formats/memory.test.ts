import { describe, expect, it } from 'vitest';
import { extent, flatten, normalizeSegments, slice, totalSize } from './memory.ts';

const seg = (address: number, ...bytes: number[]) => ({ address, data: Uint8Array.from(bytes) });

describe('sparse memory', () => {
  it('sorts, joins touching segments, keeps gaps, and lets later segments win overlaps', () => {
    const merged = normalizeSegments([seg(0x10, 5, 6), seg(0, 1, 2), seg(2, 3, 4), seg(0x11, 9)]);
    expect(merged).toEqual([seg(0, 1, 2, 3, 4), seg(0x10, 5, 9)]);
    expect(totalSize(merged)).toBe(6);
    expect(extent(merged)).toEqual({ start: 0, end: 0x12 });
    expect(extent([])).toBeUndefined();
  });

  it('flattens a range with 0xFF in the gaps, or another fill', () => {
    const segs = [seg(2, 0xaa), seg(5, 0xbb, 0xcc)];
    expect(Array.from(flatten(segs))).toEqual([0xaa, 0xff, 0xff, 0xbb, 0xcc]);
    expect(Array.from(flatten(segs, 0, 8, 0))).toEqual([0, 0, 0xaa, 0, 0, 0xbb, 0xcc, 0]);
    expect(Array.from(flatten(segs, 3, 6))).toEqual([0xff, 0xff, 0xbb]);
    expect(() => flatten(segs, 6, 3)).toThrow(RangeError);
  });

  it('slices segments to a window', () => {
    expect(slice([seg(0, 1, 2, 3), seg(8, 4, 5)], 2, 9)).toEqual([seg(2, 3), seg(8, 4)]);
  });
});
