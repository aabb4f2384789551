// The baseline every serial-upload claim is judged against: the stock Optiboot bootloader
// (rebuilt from the Arduino core's source) receiving a 29 KiB sketch from the real avrdude 7.1,
// through `stageboot sim --pty` at real-time pace, 115200 baud. avrdude's own Writing/Reading
// bars give the times; the anchor is the wire limit, image bytes x 10 bits / 115200.
// The project's bootloader must upload at least 1.3x faster than this (OPTIBOOT_TARGET).
import { readFileSync } from 'node:fs';
import { parseIhex } from '../../host/src/formats/ihex.ts';
import { uploadThroughSim } from '../e2e/avrdude.ts';
import { buildTestFirmware } from '../firmware/build.ts';
import type { Figure } from './figure.ts';

export const title = 'Optiboot + avrdude baseline (real-time pty)';

const BAUD = 115200;
/** How much faster than Optiboot the project's serial upload must be. */
export const OPTIBOOT_TARGET = 1.3;

export interface OptibootBaseline {
  bytes: number;
  baud: number;
  writeSeconds: number;
  readSeconds: number;
  /** bytes x 10 / baud: the time the bytes alone take on the wire. */
  wireSeconds: number;
  /** Uploads measured; the times are the best of them. */
  runs: number;
}

let cached: Promise<OptibootBaseline> | undefined;

/** Measured once per process; other bench modules anchor their figures on it. */
export function optibootBaseline(): Promise<OptibootBaseline> {
  cached ??= measure();
  return cached;
}

/**
 * Load on the machine only ever adds time (pty round trips wait for the scheduler), so the best
 * of a few runs is the figure that describes the protocol rather than the machine's mood.
 * Every upload compared with this baseline takes the best of as many runs.
 */
export const RUNS = Number(process.env.BENCH_OPTIBOOT_RUNS ?? 3);

async function measure(): Promise<OptibootBaseline> {
  const fw = buildTestFirmware();
  const bytes = parseIhex(readFileSync(fw.big, 'utf8')).segments.reduce((n, s) => n + s.data.length, 0);
  let writeSeconds = Infinity;
  let readSeconds = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const r = await uploadThroughSim(fw.optiboot, fw.big, bytes, BAUD);
    writeSeconds = Math.min(writeSeconds, r.writeSeconds);
    readSeconds = Math.min(readSeconds, r.readSeconds);
  }
  return { bytes, baud: BAUD, writeSeconds, readSeconds, wireSeconds: (bytes * 10) / BAUD, runs: RUNS };
}

export async function figures(): Promise<Figure[]> {
  const b = await optibootBaseline();
  const note = `${b.bytes.toLocaleString('en-US')} B sketch, ${b.baud} baud, avrdude 7.1 via pty, best of ${b.runs}`;
  const wire = { value: b.wireSeconds, label: 'wire limit, bytes x 10 / baud' };
  return [
    { id: 'optiboot.write', what: 'Optiboot upload (avrdude write)', value: b.writeSeconds, unit: 's', anchor: wire, ratio: 'anchor/value', note },
    { id: 'optiboot.read', what: 'Optiboot read-back verify (avrdude read)', value: b.readSeconds, unit: 's', anchor: wire, ratio: 'anchor/value', note },
  ];
}
