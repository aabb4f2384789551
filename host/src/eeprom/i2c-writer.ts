// Writes a whole EEPROM image to a 24LC-family chip over an I2C bus: page writes with ACK
// polling, pages that already hold the right bytes skipped, and a read-back verify.
// The bus is an interface so that Linux i2c-dev (i2c-bus) and a simulated bus both plug in.
import type { ChipGeometry } from '../../../protocol/ts/chips.ts';

/** The subset of i2c-bus's PromisifiedBus the writer uses. */
export interface I2cTransport {
  i2cWrite(address: number, length: number, buffer: Buffer): Promise<unknown>;
  i2cRead(address: number, length: number, buffer: Buffer): Promise<unknown>;
}

export interface WriteOptions {
  chip: ChipGeometry;
  /** 7-bit device address of the chip (block 0). */
  address: number;
  /** Where the file system's data areas start: pages below it (metadata) are written last. */
  metadataEnd?: number;
  /** How long to keep polling a chip that NACKs during its write cycle. */
  pollTimeoutMs?: number;
  onProgress?: (done: number, total: number) => void;
  /** Time source for ACK polling; a simulated bus supplies its own. */
  clock?: Clock;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const wallClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export interface WriteReport {
  pagesWritten: number;
  pagesSkipped: number;
  bytesVerified: number;
}

export class EepromWriteError extends Error {
  constructor(message: string, readonly addr: number) {
    super(message);
    this.name = 'EepromWriteError';
  }
}

const READ_CHUNK = 128;

export async function writeEeprom(bus: I2cTransport, image: Uint8Array, o: WriteOptions): Promise<WriteReport> {
  const { chip } = o;
  if (image.length !== chip.size) throw new EepromWriteError(`image is ${image.length} bytes but a ${chip.name} holds ${chip.size}`, 0);
  const order = pageOrder(chip, o.metadataEnd ?? 0);
  const report: WriteReport = { pagesWritten: 0, pagesSkipped: 0, bytesVerified: 0 };
  let done = 0;
  for (const page of order) {
    const want = image.subarray(page, page + chip.pageSize);
    const have = await readRange(bus, o, page, chip.pageSize);
    if (Buffer.compare(have, want) === 0) report.pagesSkipped++;
    else {
      await retryWhileBusy(o, page, () => bus.i2cWrite(devAddr(o, page), chip.pageSize + 2, Buffer.concat([addrBytes(page), want])));
      report.pagesWritten++;
    }
    o.onProgress?.(++done, order.length * 2);
  }
  for (let addr = 0; addr < chip.size; addr += chip.pageSize) {
    const have = await readRange(bus, o, addr, chip.pageSize);
    const bad = firstDifference(have, image.subarray(addr, addr + chip.pageSize));
    if (bad >= 0) {
      const at = addr + bad;
      throw new EepromWriteError(`verify failed at EEPROM address 0x${at.toString(16)}: read 0x${have[bad].toString(16)}, wrote 0x${image[at].toString(16)}`, at);
    }
    report.bytesVerified += chip.pageSize;
    o.onProgress?.(++done, order.length * 2);
  }
  return report;
}

/** Data pages first, then metadata records, the superblock (page 0) last: a write cut short
 *  leaves no superblock pointing at half-written slots. */
function pageOrder(chip: ChipGeometry, metadataEnd: number): number[] {
  const pages: number[] = [];
  for (let a = 0; a < chip.size; a += chip.pageSize) pages.push(a);
  const data = pages.filter((a) => a >= metadataEnd);
  const meta = pages.filter((a) => a > 0 && a < metadataEnd);
  return [...data, ...meta, 0];
}

async function readRange(bus: I2cTransport, o: WriteOptions, addr: number, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  for (let off = 0; off < length; off += READ_CHUNK) {
    const n = Math.min(READ_CHUNK, length - off);
    const a = addr + off;
    await retryWhileBusy(o, a, () => bus.i2cWrite(devAddr(o, a), 2, addrBytes(a)));
    const part = Buffer.alloc(n);
    await bus.i2cRead(devAddr(o, a), n, part);
    part.copy(out, off);
  }
  return out;
}

/** ACK polling: the chip NACKs its address during a write cycle, which i2c-dev reports as an error. */
async function retryWhileBusy(o: WriteOptions, addr: number, op: () => Promise<unknown>): Promise<void> {
  const clock = o.clock ?? wallClock;
  const deadline = clock.now() + (o.pollTimeoutMs ?? 50);
  for (;;) {
    try {
      await op();
      return;
    } catch (err) {
      if (!isNack(err)) throw err;
      if (clock.now() > deadline) {
        throw new EepromWriteError(`no ACK from the EEPROM at I2C address 0x${devAddr(o, addr).toString(16)} (EEPROM address 0x${addr.toString(16)}): ${(err as Error).message}`, addr);
      }
      await clock.sleep(0.5);
    }
  }
}

/** What i2c-dev reports for a NACKed address: a busy chip, or none there. */
function isNack(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'EREMOTEIO' || code === 'ENXIO' || code === 'EIO' || code === 'EAGAIN';
}

function devAddr(o: WriteOptions, addr: number): number {
  // 24LC1025: the block-select bit B0 is bit 2 of the device address.
  return addr >= o.chip.bankSize ? o.address | 0x04 : o.address;
}

function addrBytes(addr: number): Buffer {
  return Buffer.from([(addr >> 8) & 0xff, addr & 0xff]);
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
