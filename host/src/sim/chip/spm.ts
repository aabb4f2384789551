// Self-programming (SPM) for the ATmega328P. avr8js treats SPM as a no-op and SPMCSR as plain
// memory, so the board intercepts opcode 0x95E8 before the CPU sees it and runs it here.
//
// Modelled (datasheet "Boot Loader Support - Read-While-Write Self-Programming"):
// - SPMCSR command bits must be written no more than 4 cycles before SPM; later, the bits
//   clear and SPM does nothing.
// - SPM does nothing unless it executes from the boot section chosen by BOOTSZ.
// - Page buffer of 64 words: a word can be loaded once; it is erased by a page write, by
//   RWWSRE and by any reset.
// - Page erase and page write take `busySeconds` (4.5 ms). A page in the NRWW section (top
//   4 KiB) halts the CPU for that time. A page in the RWW section sets RWWSB: the CPU keeps
//   running, SPMEN stays set until the operation ends, and LPM reads of the RWW section return
//   0xFF until the firmware writes RWWSRE.
// - A page write ANDs the buffer into the page (flash bits only go 1 -> 0 without an erase).
// - Boot lock bits: BLB0 mode 2/3 forbids SPM on the application section, BLB1 mode 2/3 on
//   the boot section. BLBSET+SPM programs lock bits from R0; SIGRD/BLBSET + LPM reads the
//   signature row / fuse and lock bytes.
// - An operation cut by a reset or a power cut leaves a seeded random subset of the page's
//   bytes changed (torn erase/write).

import type { CPU } from 'avr8js';
import { FLASH_BYTES, NRWW_START, PAGE_BYTES, bootStart, lockRules, type Fuses } from './fuses.ts';
import { randInt, type Rng } from '../../util/rng.ts';

export const SPM_OPCODE = 0x95e8;
export const SPMCSR = 0x57;
const EECR = 0x3f;
const EEPE = 0x02;
const SPMIE = 0x80;
const RWWSB = 0x40;
const SIGRD = 0x20;
const RWWSRE = 0x10;
const BLBSET = 0x08;
const PGWRT = 0x04;
const PGERS = 0x02;
const SPMEN = 0x01;
const COMMAND_MASK = SIGRD | RWWSRE | BLBSET | PGWRT | PGERS | SPMEN;
/** SPM must follow the SPMCSR write within this many cycles. */
const SPM_WINDOW = 4;
/** LPM must follow a SIGRD/BLBSET write within this many cycles. */
const LPM_WINDOW = 3;
const PAGE_WORDS = PAGE_BYTES / 2;
const SIGNATURE_ROW = [0x1e, 0x9f, 0x95, 0xff, 0x0f]; // signature bytes at even Z, OSCCAL at Z=1

export type FlashOpKind = 'erase' | 'write';

export interface FlashOpEvent {
  kind: FlashOpKind;
  /** Page number (byte address / 128). */
  page: number;
  /** 1-based count of erase+write operations on this board since it was built. */
  n: number;
  /** Cycle at which the operation started, and at which it will complete. */
  cycle: number;
  doneAt: number;
}

/** What the SPM unit needs from the board. */
export interface SpmHost {
  readonly flash: Uint8Array;
  readonly fuses: Fuses;
  readonly clockHz: number;
  busySeconds: number;
  log(line: string): void;
  /** Stop executing instructions until `untilCycle` (peripherals keep running). */
  halt(untilCycle: number): void;
  /** State changed so that the board must leave its fast loop (LPM now needs checking). */
  wake(): void;
  /** Called when an erase or write starts; returns its 1-based number. */
  flashOpStarted(ev: Omit<FlashOpEvent, 'n'>): number;
}

interface PendingOp {
  kind: FlashOpKind;
  page: number;
  data: Uint8Array; // page content the operation will leave
  doneAt: number;
}

export class SelfProgramming {
  private readonly buffer = new Uint16Array(PAGE_WORDS).fill(0xffff);
  private readonly loaded = new Uint8Array(PAGE_WORDS);
  private armedCycle = -Infinity;
  private pending: PendingOp | null = null;
  private readonly shadow: Uint8Array;
  private readonly realProgBytes: Uint8Array;
  /** True while LPM/fetch of the RWW section is blocked (RWWSB set). */
  rwwBlocked = false;
  /** Counts SPM instructions that did nothing, by reason (for tests and reports). */
  readonly ignored = { outsideBoot: 0, notArmed: 0, busy: 0, locked: 0, reloadedWord: 0, eepromBusy: 0 };

  private readonly readyInterrupt = {
    address: 0x32, // SPM_READY vector, word 0x19
    flagRegister: SPMCSR,
    flagMask: SPMEN,
    enableRegister: SPMCSR,
    enableMask: SPMIE,
    constant: true,
    inverseFlag: true,
  };

  constructor(
    private readonly cpu: CPU,
    private readonly host: SpmHost,
  ) {
    this.realProgBytes = cpu.progBytes;
    this.shadow = new Uint8Array(FLASH_BYTES);
    cpu.data[SPMCSR] = 0;
    cpu.writeHooks[SPMCSR] = (value) => {
      this.writeSpmcsr(value);
      return true;
    };
    cpu.readHooks[SPMCSR] = () => {
      this.expireWindow();
      return cpu.data[SPMCSR];
    };
  }

  /** Runs the SPM instruction at cpu.pc (the board calls this instead of avrInstruction). */
  execute(): void {
    const { cpu } = this;
    const pcByte = cpu.pc * 2;
    cpu.pc = (cpu.pc + 1) & 0x3fff;
    cpu.cycles += 1;
    const command = cpu.data[SPMCSR] & COMMAND_MASK;
    const inWindow = cpu.cycles - 1 <= this.armedCycle + SPM_WINDOW;
    if (pcByte < bootStart(this.host.fuses)) {
      this.ignored.outsideBoot++;
      this.host.log(
        `spm: SPM at 0x${hex(pcByte)} is outside the boot section (starts 0x${hex(bootStart(this.host.fuses))}): ignored`,
      );
      this.clearCommandIfExpired(inWindow);
      return;
    }
    if (this.pending) {
      this.ignored.busy++;
      this.host.log(`spm: SPM at 0x${hex(pcByte)} while a page operation is busy: ignored`);
      return;
    }
    if (!inWindow || !(command & SPMEN)) {
      this.ignored.notArmed++;
      this.host.log(`spm: SPM at 0x${hex(pcByte)} without SPMEN written in the last ${SPM_WINDOW} cycles: ignored`);
      this.clearCommand();
      return;
    }
    this.armedCycle = -Infinity;
    if (cpu.data[EECR] & EEPE) {
      // "An EEPROM write operation will block all software programming to Flash."
      this.ignored.eepromBusy++;
      this.host.log(`spm: SPM at 0x${hex(pcByte)} while an EEPROM write is in progress: ignored`);
      this.clearCommand();
      return;
    }
    const z = cpu.dataView.getUint16(30, true);
    switch (command) {
      case SPMEN:
        this.loadWord(z);
        break;
      case PGERS | SPMEN:
        this.startPageOp('erase', z);
        return; // SPMEN stays set until the operation ends
      case PGWRT | SPMEN:
        this.startPageOp('write', z);
        return;
      case RWWSRE | SPMEN:
        this.reenableRww();
        break;
      case BLBSET | SPMEN:
        this.setLockBits(cpu.data[0]);
        break;
      default:
        break; // other combinations, SIGRD included, have no effect on SPM
    }
    this.clearCommand();
  }

  /**
   * LPM result override: fuse/lock/signature reads after BLBSET/SIGRD, locked regions and the
   * blocked RWW section. Returns undefined when flash should be read normally.
   */
  lpmRead(z: number, pcByte: number): number | undefined {
    const { cpu } = this;
    const csr = cpu.data[SPMCSR];
    if (csr & (SIGRD | BLBSET) && csr & SPMEN && cpu.cycles <= this.armedCycle + LPM_WINDOW) {
      this.clearCommand();
      if (csr & SIGRD) return SIGNATURE_ROW[z & 0x1f] ?? 0xff;
      const f = this.host.fuses;
      return [f.low, f.lock, f.extended, f.high][z & 3];
    }
    const boot = bootStart(this.host.fuses);
    const rules = lockRules(this.host.fuses);
    if (rules.lpmBootFromAppLocked && pcByte < boot && z >= boot) return 0xff;
    if (rules.lpmAppFromBootLocked && pcByte >= boot && z < boot) return 0xff;
    if (this.rwwBlocked && z < NRWW_START) return 0xff;
    return undefined;
  }

  /** True when LPM needs lpmRead (so the board can use its fast loop otherwise). */
  get lpmNeedsCheck(): boolean {
    const r = lockRules(this.host.fuses);
    return (
      this.rwwBlocked ||
      r.lpmAppFromBootLocked ||
      r.lpmBootFromAppLocked ||
      (this.cpu.data[SPMCSR] & (SIGRD | BLBSET)) !== 0
    );
  }

  /** An internal EEPROM write started: per the datasheet, data loaded into the page buffer is lost. */
  eepromWriteStarted(): void {
    if (this.loaded.some((x) => x)) this.host.log('spm: EEPROM write during page loading: page buffer lost');
    this.eraseBuffer();
  }

  /** Reset or power cut while an erase/write is running: a random subset of the page changes. */
  abort(rng: Rng): string | undefined {
    const op = this.pending;
    if (!op) return undefined;
    this.pending = null;
    const base = op.page * PAGE_BYTES;
    let landed = 0;
    for (let i = 0; i < PAGE_BYTES; i++) {
      if (randInt(rng, 2)) {
        this.host.flash[base + i] = op.data[i];
        landed++;
      }
    }
    this.unblockRww();
    return `spm: page ${op.kind} of page ${op.page} cut: ${landed}/${PAGE_BYTES} bytes changed`;
  }

  private writeSpmcsr(value: number): void {
    const { cpu } = this;
    if (this.pending) {
      // While busy only SPMIE may change; command bits are ignored.
      cpu.data[SPMCSR] = (cpu.data[SPMCSR] & ~SPMIE) | (value & SPMIE);
    } else {
      const keepRwwsb = cpu.data[SPMCSR] & RWWSB;
      cpu.data[SPMCSR] = (value & (SPMIE | COMMAND_MASK)) | keepRwwsb;
      this.armedCycle = value & SPMEN ? cpu.cycles : -Infinity;
      if (value & (SIGRD | BLBSET)) this.host.wake();
    }
    cpu.updateInterruptEnable(this.readyInterrupt, value);
  }

  private expireWindow(): void {
    if (!this.pending && this.cpu.cycles > this.armedCycle + SPM_WINDOW) this.clearCommand();
  }

  private clearCommandIfExpired(inWindow: boolean): void {
    if (!inWindow) this.clearCommand();
  }

  private clearCommand(): void {
    const { cpu } = this;
    cpu.data[SPMCSR] &= ~COMMAND_MASK;
    this.armedCycle = -Infinity;
    if (cpu.data[SPMCSR] & SPMIE) cpu.setInterruptFlag(this.readyInterrupt);
  }

  private loadWord(z: number): void {
    const w = (z >> 1) & (PAGE_WORDS - 1);
    if (this.loaded[w]) {
      // The datasheet allows one load per word between buffer erases; a second one is lost.
      this.ignored.reloadedWord++;
      this.host.log(`spm: page buffer word ${w} loaded twice without a buffer erase: second load lost`);
      return;
    }
    this.loaded[w] = 1;
    this.buffer[w] = this.cpu.data[0] | (this.cpu.data[1] << 8);
  }

  private startPageOp(kind: FlashOpKind, z: number): void {
    const { cpu, host } = this;
    const page = (z >> 7) & 0xff;
    const base = page * PAGE_BYTES;
    const boot = bootStart(host.fuses);
    const rules = lockRules(host.fuses);
    if ((base >= boot && rules.spmBootLocked) || (base < boot && rules.spmAppLocked)) {
      this.ignored.locked++;
      host.log(`spm: page ${kind} of page ${page} (0x${hex(base)}) refused by boot lock bits (lock=0x${hex(host.fuses.lock, 2)})`);
      this.clearCommand();
      return;
    }
    const data = new Uint8Array(PAGE_BYTES);
    if (kind === 'erase') {
      data.fill(0xff);
    } else {
      for (let i = 0; i < PAGE_BYTES; i++) {
        const word = this.buffer[i >> 1];
        data[i] = host.flash[base + i] & (i & 1 ? word >> 8 : word & 0xff);
      }
      this.eraseBuffer();
    }
    const busy = Math.round(host.busySeconds * host.clockHz);
    const doneAt = cpu.cycles + busy;
    this.pending = { kind, page, data, doneAt };
    host.flashOpStarted({ kind, page, cycle: cpu.cycles, doneAt });
    if (!this.pending) return; // the hook cut the power
    if (base >= NRWW_START) {
      host.halt(doneAt);
    } else {
      cpu.data[SPMCSR] |= RWWSB;
      this.blockRww();
    }
    cpu.addClockEvent(this.complete, busy);
  }

  private readonly complete = (): void => {
    const op = this.pending;
    if (!op) return;
    this.pending = null;
    this.host.flash.set(op.data, op.page * PAGE_BYTES);
    if (this.rwwBlocked) this.refreshShadow();
    this.clearCommand();
  };

  private reenableRww(): void {
    this.cpu.data[SPMCSR] &= ~RWWSB;
    this.unblockRww();
    this.eraseBuffer();
  }

  private setLockBits(r0: number): void {
    // Only boot lock bits (5:2) and LB (1:0) can be programmed; programming only clears bits.
    const f = this.host.fuses;
    f.lock = f.lock & (r0 | 0xc0);
    this.host.log(`spm: lock bits now 0x${hex(f.lock, 2)}`);
  }

  private eraseBuffer(): void {
    this.buffer.fill(0xffff);
    this.loaded.fill(0);
  }

  private blockRww(): void {
    if (this.rwwBlocked) return;
    this.rwwBlocked = true;
    this.refreshShadow();
    (this.cpu as { progBytes: Uint8Array }).progBytes = this.shadow;
    this.host.wake();
  }

  private refreshShadow(): void {
    this.shadow.fill(0xff, 0, NRWW_START);
    this.shadow.set(this.host.flash.subarray(NRWW_START), NRWW_START);
  }

  private unblockRww(): void {
    if (!this.rwwBlocked) return;
    this.rwwBlocked = false;
    (this.cpu as { progBytes: Uint8Array }).progBytes = this.realProgBytes;
  }
}

function hex(n: number, width = 4): string {
  return n.toString(16).padStart(width, '0');
}
