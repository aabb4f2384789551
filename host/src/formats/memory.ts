// A sparse memory model shared by every firmware format: a list of non-overlapping,
// non-adjacent segments sorted by address. Flash images have gaps (a bootloader-style image
// may start at 0x7E00, an ATmega2560 image may hold data above 64 KiB), so a flat array from
// address 0 would misstate what the file actually programs.

export interface Segment {
  address: number;
  data: Uint8Array;
}

/** Bytes a segment list actually holds (gaps not counted). */
export function totalSize(segments: readonly Segment[]): number {
  return segments.reduce((n, s) => n + s.data.length, 0);
}

/** First address and one past the last address, or undefined for an empty list. */
export function extent(segments: readonly Segment[]): { start: number; end: number } | undefined {
  if (segments.length === 0) return undefined;
  let start = Infinity;
  let end = -Infinity;
  for (const s of segments) {
    if (s.data.length === 0) continue;
    start = Math.min(start, s.address);
    end = Math.max(end, s.address + s.data.length);
  }
  return start === Infinity ? undefined : { start, end };
}

/**
 * Sorts and joins segments that touch or overlap. Later segments win where they overlap;
 * readers that must refuse conflicting overlaps (Intel HEX) check before calling this.
 */
export function normalizeSegments(segments: readonly Segment[]): Segment[] {
  const sorted = segments.filter((s) => s.data.length > 0).sort((a, b) => a.address - b.address);
  const ranges: { start: number; end: number }[] = [];
  for (const s of sorted) {
    const last = ranges[ranges.length - 1];
    const end = s.address + s.data.length;
    if (last && s.address <= last.end) last.end = Math.max(last.end, end);
    else ranges.push({ start: s.address, end });
  }
  const out = ranges.map((r) => ({ address: r.start, data: new Uint8Array(r.end - r.start) }));
  // Copy in the caller's order so "later wins" refers to the order given, not the sorted one.
  for (const s of segments) {
    if (s.data.length === 0) continue;
    const target = out[findRange(out, s.address)];
    target.data.set(s.data, s.address - target.address);
  }
  return out;
}

/** Index of the segment containing `address` in a sorted, merged list (binary search). */
export function findRange(segments: readonly Segment[], address: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = segments[mid];
    if (address < s.address) hi = mid - 1;
    else if (address >= s.address + s.data.length) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * The bytes of [start, end) with every gap filled by `fill` (0xFF by default: erased flash
 * reads 0xFF, so a filled gap programs nothing new).
 */
export function flatten(segments: readonly Segment[], start?: number, end?: number, fill = 0xff): Uint8Array {
  const ext = extent(segments) ?? { start: 0, end: 0 };
  const from = start ?? ext.start;
  const to = end ?? ext.end;
  if (to < from) throw new RangeError(`flatten: end 0x${to.toString(16)} is before start 0x${from.toString(16)}`);
  const out = new Uint8Array(to - from).fill(fill);
  for (const s of segments) {
    const lo = Math.max(s.address, from);
    const hi = Math.min(s.address + s.data.length, to);
    if (lo < hi) out.set(s.data.subarray(lo - s.address, hi - s.address), lo - from);
  }
  return out;
}

/** The segments restricted to [start, end), clipped; useful to split flash from other spaces. */
export function slice(segments: readonly Segment[], start: number, end: number): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    const lo = Math.max(s.address, start);
    const hi = Math.min(s.address + s.data.length, end);
    if (lo < hi) out.push({ address: lo, data: s.data.subarray(lo - s.address, hi - s.address) });
  }
  return out;
}

export function hex(n: number, digits = 4): string {
  return '0x' + n.toString(16).toUpperCase().padStart(digits, '0');
}
