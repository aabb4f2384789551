// How fast the bootloader applies a staged image, in simulated time, against the physical
// limit: one I2C read of the whole image at 400 kHz (the CRC check before anything is erased)
// plus 9 ms of erase + write for every 128-byte page that must change. Issue 4 claims at most
// 1.15x that limit for a full image, and well under a second for a one-page change.
import { BootState, decodeRecord, pickRecord, recordAddrs } from '../../protocol/ts/index.ts';
import { appImage, makeNode, stage, writeBoot, type Mhz } from '../bootloader/node.ts';
import type { Figure } from './figure.ts';

export const title = 'Bootloader: applying a staged image (simulated time)';

const PAGE = 128;
const I2C_BYTE_SECONDS = 9 / 400_000;
const FLASH_PAGE_SECONDS = 2 * 4.5e-3;

/** The banner application padded with filler to `size` bytes: runnable, and every page distinct. */
function bigApp(version: 'v1' | 'v2', size: number, mhz: Mhz): Uint8Array {
  const app = appImage(version, mhz);
  const out = new Uint8Array(size);
  out.set(app);
  for (let i = app.length; i < size; i++) out[i] = (i * (version === 'v1' ? 7 : 13) + (i >> 7)) & 0xff;
  return out;
}

function changedPages(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let p = 0; p < b.length; p += PAGE) {
    for (let i = p; i < Math.min(p + PAGE, b.length); i++) if (a[i] !== b[i]) { n++; break; }
  }
  return n;
}

/** Seconds from power-on until the bootloader has written its final IDLE record. */
function applySeconds(mhz: Mhz, oldApp: Uint8Array, newApp: Uint8Array): number {
  const t = makeNode({ mhz, app: oldApp });
  stage(t.eeprom, t.layout, 0, newApp);
  writeBoot(t.eeprom, t.layout, { state: BootState.PENDING, slot: 0 });
  const [a, b] = recordAddrs(t.layout.pitch, 'boot');
  const idle = () => {
    const r = pickRecord(decodeRecord('BootRecord', t.eeprom.memory.subarray(a, a + 16)), decodeRecord('BootRecord', t.eeprom.memory.subarray(b, b + 16))).record;
    return r?.state === BootState.IDLE;
  };
  t.node.powerOn();
  const start = t.node.seconds;
  if (!t.node.runUntil(idle, 20 * t.node.clockHz, 2048)) throw new Error('the bootloader did not finish the apply within 20 s');
  const flash = t.node.flash.subarray(0, newApp.length);
  if (Buffer.compare(Buffer.from(flash), Buffer.from(newApp)) !== 0) throw new Error('flash does not hold the new image after the apply');
  return t.node.seconds - start;
}

export async function figures(): Promise<Figure[]> {
  const out: Figure[] = [];
  for (const mhz of [16, 8] as Mhz[]) {
    const t = makeNode({ mhz });
    const size = Math.min(31 * 1024, t.node.bootStart);
    const oldApp = bigApp('v1', size, mhz);
    const full = bigApp('v2', size, mhz);
    const onePage = oldApp.slice();
    onePage[size - 200] ^= 0xff; // one page near the end differs
    for (const [name, img, claim] of [['full image', full, { op: '<=', ratio: 1.15 }], ['one-page change', onePage, undefined]] as const) {
      const seconds = applySeconds(mhz, oldApp, img);
      const pages = changedPages(oldApp, img);
      const limit = img.length * I2C_BYTE_SECONDS + pages * FLASH_PAGE_SECONDS;
      out.push({
        id: `apply.${mhz}mhz.${name.replace(/\W+/g, '-')}`,
        what: `apply ${name}, ${img.length.toLocaleString('en-US')} B, ${pages} page(s) programmed, ${mhz} MHz`,
        value: seconds,
        unit: 's',
        anchor: { value: limit, label: 'I2C read at 400 kHz + 9 ms per changed page' },
        target: claim ? { op: claim.op, ratio: claim.ratio } : undefined,
        note: name === 'one-page change' ? `claim: well under 1 s (${seconds.toFixed(2)} s)` : undefined,
      });
    }
  }
  return out;
}
