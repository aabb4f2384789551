// The contract between `make bench` (run.ts) and the benchmark modules beside it.
//
// Every test/bench/<name>.ts except run.ts and figure.ts is a bench module. It exports
//   export const title = 'Optiboot upload through avrdude';     // optional, defaults to the file name
//   export async function figures(): Promise<Figure[]> { ... }  // or a plain `figures` array
// run.ts imports every module, runs them one after the other (timings must not compete for the
// machine's two cores) and prints one table of every figure beside its limit or anchor.
//
// A figure without an anchor is still printed, but the project's rule is that every claimed
// figure stands beside something it can be judged against: a physical limit (the wire rate), an
// outside reference (Optiboot through avrdude) or the real-time rate of the chip.

export interface Anchor {
  /** The limit or reference value, in the figure's unit. */
  value: number;
  /** What it is, e.g. "wire limit, 115200 8N1" or "Optiboot + avrdude". */
  label: string;
}

/** A claim on the ratio, e.g. { op: '>=', ratio: 1.3 } for "at least 1.3x the anchor". */
export interface Target {
  op: '>=' | '<=';
  ratio: number;
}

export interface Figure {
  /** Stable identifier, "<module>.<figure>", for --json consumers and for diffing runs. */
  id: string;
  /** What was measured, in words. */
  what: string;
  value: number;
  unit: string;
  anchor?: Anchor;
  /**
   * How the ratio is formed. 'value/anchor' (default) suits rates ("62 % of the wire rate");
   * 'anchor/value' suits durations where smaller is better ("1.4x faster than Optiboot").
   */
  ratio?: 'value/anchor' | 'anchor/value';
  target?: Target;
  /** Free text: conditions of the measurement (image size, baud rate, machine). */
  note?: string;
}

export interface BenchModule {
  title?: string;
  figures: Figure[] | (() => Figure[] | Promise<Figure[]>);
}

export function ratioOf(f: Figure): number | undefined {
  if (!f.anchor || f.anchor.value === 0 || f.value === 0) return undefined;
  return f.ratio === 'anchor/value' ? f.anchor.value / f.value : f.value / f.anchor.value;
}

/** undefined when the figure makes no claim; otherwise whether the claim holds. */
export function meetsTarget(f: Figure): boolean | undefined {
  const r = ratioOf(f);
  if (!f.target || r === undefined) return undefined;
  return f.target.op === '>=' ? r >= f.target.ratio : r <= f.target.ratio;
}
