// stageboot's own bootloader as a serial (STK500v1) target for the unmodified avrdude 7.1:
// the same 29 KiB upload as the Optiboot baseline, through the same pty at real-time pace.
// The claim: at least OPTIBOOT_TARGET (1.3x) faster than Optiboot, since stageboot overlaps a
// page's erase and write with the transfer of the next page.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIhex } from '../../host/src/formats/ihex.ts';
import { uploadThroughSim } from '../e2e/avrdude.ts';
import { buildTestFirmware, repoRoot } from '../firmware/build.ts';
import type { Figure } from './figure.ts';
import { OPTIBOOT_TARGET, RUNS, optibootBaseline } from './optiboot.ts';

export const title = 'stageboot bootloader serial upload vs Optiboot';

const BOOTLOADER = join(repoRoot, 'bootloader/hex/stageboot_atmega328p_16mhz.hex');

export async function figures(): Promise<Figure[]> {
  if (!existsSync(BOOTLOADER)) throw new Error(`${BOOTLOADER} is not built (make firmware)`);
  const fw = buildTestFirmware();
  const bytes = parseIhex(readFileSync(fw.big, 'utf8')).segments.reduce((n, s) => n + s.data.length, 0);
  const base = await optibootBaseline();
  // The best of as many runs as the baseline: the same statistic on both sides of the ratio.
  const r = { writeSeconds: Infinity, readSeconds: Infinity };
  for (let i = 0; i < RUNS; i++) {
    const u = await uploadThroughSim(BOOTLOADER, fw.big, bytes, base.baud);
    r.writeSeconds = Math.min(r.writeSeconds, u.writeSeconds);
    r.readSeconds = Math.min(r.readSeconds, u.readSeconds);
  }
  const note = `${bytes.toLocaleString('en-US')} B sketch, ${base.baud} baud, avrdude 7.1 via pty, best of ${RUNS}`;
  return [
    {
      id: 'serial-upload.write',
      what: 'stageboot bootloader upload (avrdude write)',
      value: r.writeSeconds,
      unit: 's',
      anchor: { value: base.writeSeconds, label: 'Optiboot, same upload' },
      ratio: 'anchor/value',
      target: { op: '>=', ratio: OPTIBOOT_TARGET },
      note,
    },
    {
      id: 'serial-upload.write-vs-wire',
      what: 'stageboot bootloader upload (avrdude write)',
      value: r.writeSeconds,
      unit: 's',
      anchor: { value: base.wireSeconds, label: 'wire limit, bytes x 10 / baud' },
      ratio: 'anchor/value',
      note,
    },
    {
      id: 'serial-upload.read',
      what: 'stageboot bootloader read-back verify (avrdude read)',
      value: r.readSeconds,
      unit: 's',
      anchor: { value: base.readSeconds, label: 'Optiboot, same read-back' },
      ratio: 'anchor/value',
      note,
    },
  ];
}
