// A 24LC-family I2C EEPROM (Microchip 24LC256 / 24LC512 / 24LC1025 and look-alikes).
// - Two address bytes, high first; bits above the device size are ignored.
// - A page write wraps inside its page; the bytes are programmed after the STOP, during the
//   write cycle tWC (5 ms), while the chip NACKs its address (so ACK polling works).
// - A START before the STOP (e.g. a random read's dummy write) abandons the page buffer.
// - Sequential reads wrap at the end of memory, or of the 64 KiB block on a 24LC1025.
// - 24LC1025: two 64 KiB blocks chosen by bit 2 of the 7-bit device address (B0), so a chip at
//   0x50 answers 0x50 (block 0) and 0x54 (block 1).
// - A power cut during tWC lands a seeded random subset of the page's bytes (torn write); a
//   power cut before the STOP lands nothing.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { chips } from '../../../../protocol/ts/chips.ts';
import type { I2cDevice } from '../i2c-bus.ts';
import type { Rng } from '../../util/rng.ts';

export type Eeprom24Model = '24LC256' | '24LC512' | '24LC1025';

const BLOCK = 64 * 1024;
const BLOCK_SELECT = 0x04;

export interface Eeprom24Options {
  model?: Eeprom24Model;
  /** Bytes; overrides the model's. Above 64 KiB the chip has two blocks (like the 24LC1025). */
  size?: number;
  pageSize?: number;
  /** 7-bit base address (A2..A0 wiring); default 0x50. */
  address?: number;
  /** Write cycle time tWC in seconds; default 5 ms. */
  writeCycleSeconds?: number;
  /** Backing file: loaded if it exists, saved after every write cycle. */
  file?: string;
  /** Content of a fresh chip; default 0xFF. */
  fill?: number;
}

export interface EepromWriteEvent {
  /** 1-based count of write cycles of this chip. */
  n: number;
  /** Address of the first byte written and the page it is in. */
  address: number;
  page: number;
  bytes: number;
  /** Simulated seconds: start and end of the write cycle. */
  t: number;
  endsAt: number;
}

type State = 'idle' | 'addr-hi' | 'addr-lo' | 'data' | 'read' | 'ignore';

interface WriteCycle {
  endsAt: number;
  /** Address -> value before the write, to tear the cycle if the power goes. */
  before: Map<number, number>;
}

export class Eeprom24 implements I2cDevice {
  readonly size: number;
  readonly pageSize: number;
  readonly address: number;
  readonly writeCycleSeconds: number;
  readonly memory: Uint8Array;
  /** Completed or started write cycles (one per page write). */
  writeCycles = 0;
  /** Write cycles per page, for wear figures. */
  readonly pageWrites: Uint32Array;
  /** Address bytes NACKed because a write cycle was running. */
  busyNacks = 0;
  /** Write cycles torn by a power cut. */
  tornWrites = 0;

  private readonly cycleListeners: ((ev: EepromWriteEvent) => void)[] = [];
  private state: State = 'idle';
  private pointer = 0;
  private block = 0;
  private pageBuffer = new Map<number, number>();
  private cycle: WriteCycle | null = null;
  private readonly file: string | undefined;

  constructor(opts: Eeprom24Options = {}) {
    const model = chips[opts.model ?? '24LC256'];
    this.size = opts.size ?? model.size;
    this.pageSize = opts.pageSize ?? model.pageSize;
    this.address = opts.address ?? 0x50;
    this.writeCycleSeconds = opts.writeCycleSeconds ?? 5e-3;
    if (this.size > 2 * BLOCK || (this.size & (this.size - 1)) !== 0) {
      throw new Error(`eeprom24: size ${this.size} must be a power of two up to 128 KiB`);
    }
    this.memory = new Uint8Array(this.size).fill(opts.fill ?? 0xff);
    this.pageWrites = new Uint32Array(Math.ceil(this.size / this.pageSize));
    this.file = opts.file;
    if (this.file && existsSync(this.file)) this.memory.set(readFileSync(this.file).subarray(0, this.size));
  }

  get blocks(): number {
    return this.size > BLOCK ? 2 : 1;
  }

  /** True while a write cycle runs at time t. */
  busy(t: number): boolean {
    if (this.cycle && t >= this.cycle.endsAt) this.cycle = null;
    return this.cycle !== null;
  }

  owns(addr7: number): boolean {
    return this.blocks === 2 ? (addr7 & ~BLOCK_SELECT) === (this.address & ~BLOCK_SELECT) : addr7 === this.address;
  }

  start(t: number): void {
    this.busy(t);
    this.pageBuffer.clear(); // a START before STOP abandons a page write
    this.state = 'idle';
  }

  addressed(addr7: number, read: boolean, t: number): boolean {
    if (this.busy(t)) {
      this.busyNacks++;
      this.state = 'ignore';
      return false;
    }
    if (this.blocks === 2) {
      const block = addr7 & BLOCK_SELECT ? 1 : 0;
      if (block !== this.block) this.pointer = block * BLOCK;
      this.block = block;
    }
    this.state = read ? 'read' : 'addr-hi';
    return true;
  }

  write(byte: number): boolean {
    switch (this.state) {
      case 'addr-hi':
        this.pointer = this.block * BLOCK + ((byte << 8) & (this.blockSize - 1));
        this.state = 'addr-lo';
        return true;
      case 'addr-lo':
        this.pointer = this.block * BLOCK + (((this.pointer & 0xff00) | byte) & (this.blockSize - 1));
        this.state = 'data';
        return true;
      case 'data': {
        this.pageBuffer.set(this.pointer, byte);
        const page = this.pointer - (this.pointer % this.pageSize);
        this.pointer = page + ((this.pointer + 1) % this.pageSize);
        return true;
      }
      default:
        return false;
    }
  }

  read(): number {
    if (this.state !== 'read') return 0xff;
    const value = this.memory[this.pointer];
    const base = this.block * BLOCK;
    this.pointer = base + ((this.pointer - base + 1) % this.blockSize);
    return value;
  }

  stop(t: number): void {
    if (this.state === 'data' && this.pageBuffer.size > 0) this.beginWriteCycle(t);
    this.pageBuffer.clear();
    this.state = 'idle';
  }

  powerCut(t: number, rng: Rng): void {
    this.pageBuffer.clear();
    this.state = 'idle';
    if (this.busy(t)) this.tear(rng);
  }

  /**
   * Cut the power now, for a chip driven without a board: a write cycle still recorded as
   * running keeps a random subset of its bytes. Returns how many of its bytes landed.
   */
  cutPowerDuringWrite(rng: Rng): number {
    this.pageBuffer.clear();
    this.state = 'idle';
    return this.tear(rng);
  }

  private tear(rng: Rng): number {
    const cycle = this.cycle;
    if (!cycle) return 0;
    let landed = 0;
    for (const [addr, old] of cycle.before) {
      if (rng() < 0.5) this.memory[addr] = old;
      else landed++;
    }
    this.cycle = null;
    this.tornWrites++;
    this.save();
    return landed;
  }

  /** Called when a write cycle starts (after the STOP); returns an unsubscribe function. */
  onWriteCycle(listener: (ev: EepromWriteEvent) => void): () => void {
    this.cycleListeners.push(listener);
    return () => {
      const i = this.cycleListeners.indexOf(listener);
      if (i >= 0) this.cycleListeners.splice(i, 1);
    };
  }

  /** Write the content to the backing file, if there is one. */
  save(): void {
    if (this.file) writeFileSync(this.file, this.memory);
  }

  private get blockSize(): number {
    return Math.min(this.size, BLOCK);
  }

  private beginWriteCycle(t: number): void {
    // The new bytes are stored now and rolled back in part if the power goes before endsAt;
    // nobody can read the chip before then, so the result is the same as storing at the end.
    const before = new Map<number, number>();
    for (const [addr, value] of this.pageBuffer) {
      before.set(addr, this.memory[addr]);
      this.memory[addr] = value;
    }
    this.cycle = { endsAt: t + this.writeCycleSeconds, before };
    this.writeCycles++;
    const first = this.pageBuffer.keys().next().value as number;
    const page = Math.floor(first / this.pageSize);
    this.pageWrites[page]++;
    this.save();
    const ev = { n: this.writeCycles, address: first, page, bytes: before.size, t, endsAt: this.cycle.endsAt };
    for (const l of [...this.cycleListeners]) l(ev);
  }
}
