// Deterministic faults on the serial line between host and node: each byte can be dropped,
// corrupted (one bit flipped), duplicated or delayed (an idle gap before it), and the link can
// be down for time windows (bytes on the wire then are lost). Decisions come from a seeded PRNG
// in byte order, so a run is reproducible from its seed. HostUart applies it in both directions.

import { randInt, seededRng, type Rng } from '../util/rng.ts';

export type SerialDirection = 'to-node' | 'to-host';

export interface SerialFaultOptions {
  seed?: number;
  /** Probabilities per byte, 0..1. */
  drop?: number;
  corrupt?: number;
  duplicate?: number;
  delay?: { probability: number; seconds: number };
  /** Windows (simulated seconds) during which the link is down. */
  down?: { from: number; to: number }[];
  /** Directions affected; default both. */
  directions?: SerialDirection[];
}

export interface FaultedByte {
  bytes: number[];
  delaySeconds: number;
}

export class SerialFaults {
  readonly counts = { dropped: 0, corrupted: 0, duplicated: 0, delayed: 0, lostWhileDown: 0 };
  private readonly rng: Rng;
  private readonly down: { from: number; to: number }[];
  private readonly directions: Set<SerialDirection>;

  constructor(private readonly opts: SerialFaultOptions = {}) {
    this.rng = seededRng(opts.seed ?? 1);
    this.down = [...(opts.down ?? [])];
    this.directions = new Set(opts.directions ?? ['to-node', 'to-host']);
  }

  /** Take the link down from `from` to `to` (simulated seconds). */
  linkDown(from: number, to: number): void {
    this.down.push({ from, to });
  }

  isDown(t: number): boolean {
    return this.down.some((w) => t >= w.from && t < w.to);
  }

  apply(dir: SerialDirection, byte: number, t: number): FaultedByte {
    if (!this.directions.has(dir)) return { bytes: [byte], delaySeconds: 0 };
    if (this.isDown(t)) {
      this.counts.lostWhileDown++;
      return { bytes: [], delaySeconds: 0 };
    }
    const { drop = 0, corrupt = 0, duplicate = 0, delay } = this.opts;
    const rng = this.rng;
    // Draw every decision for every byte, so changing one probability does not shift the others.
    const [rDrop, rCorrupt, rBit, rDup, rDelay] = [rng(), rng(), randInt(rng, 8), rng(), rng()];
    if (rDrop < drop) {
      this.counts.dropped++;
      return { bytes: [], delaySeconds: 0 };
    }
    let value = byte;
    if (rCorrupt < corrupt) {
      value ^= 1 << rBit;
      this.counts.corrupted++;
    }
    const bytes = [value];
    if (rDup < duplicate) {
      bytes.push(value);
      this.counts.duplicated++;
    }
    let delaySeconds = 0;
    if (delay && rDelay < delay.probability) {
      delaySeconds = delay.seconds;
      this.counts.delayed++;
    }
    return { bytes, delaySeconds };
  }
}
