// SimNode: a simulated stageboot node. An ATmega328P (avr8js CPU + this project's SPM, USART,
// TWI and watchdog models) on a board with a 24LC EEPROM on the I2C bus, the host's serial
// line, pins, a RESET line and a power switch. Flash, internal EEPROM, fuses and external parts
// persist; a reset of any kind builds a new chip and starts it at the vector BOOTRST/BOOTSZ
// choose, with MCUSR telling the cause. All timing is in simulated CPU cycles.

import { avrInstruction, EEPROMMemoryBackend, type CPU } from 'avr8js';
import { Atmega328p, EEPROM_BYTES, RAMEND, SRAM_START, type PortName } from './chip/atmega328p.ts';
import { FLASH_BYTES, NRWW_START, bootStart, resetVector, withDefaults, type Fuses } from './chip/fuses.ts';
import { SPM_OPCODE, type FlashOpEvent, type SpmHost } from './chip/spm.ts';
import { BORF, EXTRF, PORF, WDRF } from './chip/watchdog.ts';
import type { FrameFormat } from './chip/uart-frame.ts';
import type { UsartCounters } from './chip/usart.ts';
import { I2cBus } from './i2c-bus.ts';
import { Eeprom24 } from './parts/eeprom24.ts';
import { Pin, canonicalPin, resolvePin, type Level, type PinBoard } from './pins.ts';
import { seededRng, type Rng } from '../util/rng.ts';
import { Scheduler } from './scheduler.ts';
import { HostUart, type UartWire } from './uart.ts';
import { parseIhex } from '../formats/ihex.ts';

export type ResetCause = 'power' | 'external' | 'watchdog' | 'brownout';

export interface SimNodeOptions {
  /** CPU clock in Hz; default 16 MHz. (CKDIV8 is not modelled: pass the effective clock.) */
  clockHz?: number;
  /** Fuse and lock bytes; unspecified ones default to an Arduino Uno's. */
  fuses?: Partial<Fuses>;
  /** Initial flash content from address 0 (copied); the rest is erased (0xFF). */
  flash?: Uint8Array;
  /** The I2C EEPROM on the board; default a 24LC256 at 0x50; false for none. */
  eeprom?: Eeprom24 | false;
  /** Initial internal EEPROM content (1 KiB). */
  internalEeprom?: Uint8Array;
  /** Receives every log line of the board (SPM refusals, resets, faults...). */
  log?: (line: string) => void;
  /** Seed for torn writes and the SRAM content after power-on. */
  seed?: number;
  /** Host side serial baud rate; default 115200. */
  baud?: number;
  /** Flash page erase / write time; default 4.5 ms. */
  flashBusySeconds?: number;
  /** Report SP going below this address (e.g. the end of .bss / __heap_start). */
  stackLimit?: number;
  /** Start powered (default true): the chip comes up with a power-on reset. */
  powered?: boolean;
}

export type FlashOpListener = (ev: FlashOpEvent) => void;

const LPM_R0 = 0x95c8;

export class SimNode implements UartWire, PinBoard {
  readonly clockHz: number;
  readonly fuses: Fuses;
  /** 32 KiB of flash; the CPU executes straight from it. */
  readonly flash: Uint8Array;
  readonly internalEeprom: Uint8Array;
  readonly eeprom: Eeprom24 | null;
  readonly bus = new I2cBus();
  readonly scheduler = new Scheduler();
  readonly uart: HostUart;
  /** Every log line, in order. */
  readonly logLines: string[] = [];
  /** Resets so far, with their cause and cycle. */
  readonly resets: { cause: ResetCause; cycle: number }[] = [];
  /** Page erases + writes started since the board was built. */
  flashOps = 0;
  /** Times SP went below stackLimit (one per excursion), and the lowest SP seen while checking. */
  stackOverflows = 0;
  minSp = RAMEND;
  /** Instructions fetched from the RWW section while it was blocked by a page operation. */
  rwwExecViolations = 0;
  stackLimit: number | undefined;
  flashBusySeconds: number;

  private chipValue: Atmega328p;
  private poweredValue: boolean;
  private resetHeldValue = false;
  private haltUntil = 0;
  private limit = 0;
  private inOverflow = false;
  private readonly rng: Rng;
  private readonly eepromBackend: EEPROMMemoryBackend;
  private readonly usartCounters: UsartCounters = { overruns: 0, droppedDisabled: 0, frameErrors: 0 };
  private readonly flashOpListeners: FlashOpListener[] = [];
  private readonly drives = new Map<string, Level>();
  private readonly pinListeners = new Map<string, ((level: Level) => void)[]>();
  private readonly logSink: ((line: string) => void) | undefined;

  constructor(opts: SimNodeOptions = {}) {
    this.clockHz = opts.clockHz ?? 16_000_000;
    this.fuses = withDefaults(opts.fuses);
    this.flash = new Uint8Array(FLASH_BYTES).fill(0xff);
    if (opts.flash) this.flash.set(opts.flash.subarray(0, FLASH_BYTES));
    this.eepromBackend = new EEPROMMemoryBackend(EEPROM_BYTES);
    this.internalEeprom = this.eepromBackend.memory;
    if (opts.internalEeprom) this.internalEeprom.set(opts.internalEeprom.subarray(0, EEPROM_BYTES));
    this.eeprom = opts.eeprom === false ? null : (opts.eeprom ?? new Eeprom24({ model: '24LC256' }));
    if (this.eeprom) this.bus.attach(this.eeprom);
    this.logSink = opts.log;
    this.rng = seededRng(opts.seed ?? 0x5eed);
    this.flashBusySeconds = opts.flashBusySeconds ?? 4.5e-3;
    this.stackLimit = opts.stackLimit;
    this.scheduler.onSchedule = (at) => {
      if (at < this.limit) this.wake();
    };
    this.uart = new HostUart(this, this.usartCounters, opts.baud ?? 115200);
    this.poweredValue = opts.powered ?? true;
    this.chipValue = this.buildChip(0, PORF, null);
    if (this.poweredValue) this.resets.push({ cause: 'power', cycle: 0 });
  }

  // ---- state -------------------------------------------------------------------------

  /** The chip of the current power-up/reset (rebuilt on every reset). */
  get chip(): Atmega328p {
    return this.chipValue;
  }

  get cpu(): CPU {
    return this.chipValue.cpu;
  }

  get cycles(): number {
    return this.chipValue.cpu.cycles;
  }

  get seconds(): number {
    return this.cycles / this.clockHz;
  }

  get powered(): boolean {
    return this.poweredValue;
  }

  get resetHeld(): boolean {
    return this.resetHeldValue;
  }

  /** True while the CPU is halted by an NRWW page erase/write. */
  get halted(): boolean {
    return this.cycles < this.haltUntil;
  }

  get mcusr(): number {
    return this.cpu.data[0x54];
  }

  /** Byte address of the instruction about to run. */
  get pcByte(): number {
    return this.cpu.pc * 2;
  }

  get bootStart(): number {
    return bootStart(this.fuses);
  }

  log(line: string): void {
    const stamped = `[${this.seconds.toFixed(6)}s] ${line}`;
    this.logLines.push(stamped);
    if (this.logLines.length > 10_000) this.logLines.splice(0, 5_000);
    this.logSink?.(stamped);
  }

  // ---- loading -----------------------------------------------------------------------

  /** Copy bytes into flash at a byte address (like a programmer; no timing, no wear). */
  loadFlash(bytes: Uint8Array, address = 0): void {
    if (address < 0 || address + bytes.length > FLASH_BYTES) {
      throw new Error(`loadFlash: 0x${address.toString(16)}+${bytes.length} is outside the 32 KiB flash`);
    }
    this.flash.set(bytes, address);
  }

  /** Program an Intel HEX image into flash (only the bytes the file holds). */
  loadHex(text: string | Uint8Array, name = 'firmware.hex'): void {
    for (const seg of parseIhex(text, name).segments) this.loadFlash(seg.data, seg.address);
  }

  /** Erase the whole flash to 0xFF (a programmer's chip erase; also resets lock bits). */
  chipErase(): void {
    this.flash.fill(0xff);
    this.fuses.lock = 0xff;
  }

  // ---- running -----------------------------------------------------------------------

  /** Run for a number of CPU cycles. */
  run(cycles: number): void {
    this.runTo(this.cycles + cycles);
  }

  runFor(seconds: number): void {
    this.run(Math.round(seconds * this.clockHz));
  }

  /**
   * Run until `predicate` is true (checked at least every `checkEvery` cycles, and whenever a
   * byte reaches the host) or `maxCycles` pass. Returns whether the predicate became true.
   */
  runUntil(predicate: () => boolean, maxCycles: number, checkEvery = 1024): boolean {
    return this.runTo(this.cycles + maxCycles, predicate, checkEvery);
  }

  /** The USART that hears the host, or null while nothing runs. */
  receiver() {
    return this.poweredValue && !this.resetHeldValue ? this.chipValue.usart : null;
  }

  /** Ask the run loop to come back to the board as soon as possible. */
  wake(): void {
    this.limit = -Infinity;
  }

  private runTo(target: number, predicate?: () => boolean, every = 1024): boolean {
    for (;;) {
      if (predicate?.()) return true;
      const now = this.cycles;
      if (now >= target) return false;
      let stop = Math.min(target, this.scheduler.nextAt);
      if (predicate) stop = Math.min(stop, now + every);
      if (!this.poweredValue || this.resetHeldValue) this.idleTo(stop);
      else if (now < this.haltUntil) this.haltedTo(Math.min(stop, this.haltUntil));
      else this.execute(stop);
      this.scheduler.runDue(this.cycles);
    }
  }

  /** Nothing runs (no power, or RESET held low): time just passes. */
  private idleTo(stop: number): void {
    const cpu = this.cpu;
    cpu.cycles = Math.max(cpu.cycles, Math.ceil(stop));
  }

  /** CPU halted by an NRWW page operation: peripheral clock events run, instructions don't. */
  private haltedTo(stop: number): void {
    const cpu = this.cpu as unknown as { cycles: number; nextClockEvent: { cycles: number; callback: () => void; next: unknown } | null };
    this.limit = stop;
    for (;;) {
      const ev = cpu.nextClockEvent;
      if (!ev || ev.cycles > stop || this.cpu !== (cpu as unknown)) break;
      cpu.cycles = Math.max(cpu.cycles, ev.cycles);
      cpu.nextClockEvent = ev.next as typeof ev | null;
      ev.callback();
      if (this.limit === -Infinity) return; // reset or power cut inside an event
    }
    if (this.cpu === (cpu as unknown)) cpu.cycles = Math.max(cpu.cycles, Math.ceil(stop));
  }

  private execute(stop: number): void {
    const chip = this.chipValue;
    const cpu = chip.cpu;
    const spm = chip.spm;
    const progMem = cpu.progMem;
    this.limit = stop;
    if (spm.rwwBlocked || spm.lpmNeedsCheck || this.stackLimit !== undefined) {
      this.executeChecked(chip);
      return;
    }
    while (cpu.cycles < this.limit) {
      if (progMem[cpu.pc] === SPM_OPCODE) spm.execute();
      else avrInstruction(cpu);
      cpu.tick();
    }
  }

  /** The slower loop: LPM overrides (locks, blocked RWW, fuse/signature reads), RWW fetches, SP. */
  private executeChecked(chip: Atmega328p): void {
    const { cpu, spm } = chip;
    const progMem = cpu.progMem;
    while (cpu.cycles < this.limit) {
      const op = progMem[cpu.pc];
      if (spm.rwwBlocked && cpu.pc * 2 < NRWW_START) this.rwwFetch();
      if (op === SPM_OPCODE) spm.execute();
      else if (op === LPM_R0 || (op & 0xfe0e) === 0x9004) this.lpm(chip, op);
      else avrInstruction(cpu);
      if (this.stackLimit !== undefined) this.checkStack(chip);
      cpu.tick();
    }
  }

  private lpm(chip: Atmega328p, op: number): void {
    const { cpu, spm } = chip;
    const z = cpu.dataView.getUint16(30, true);
    const value = spm.lpmRead(z, cpu.pc * 2);
    if (value === undefined) return avrInstruction(cpu);
    cpu.data[op === LPM_R0 ? 0 : (op & 0x1f0) >> 4] = value;
    if ((op & 0xfe0f) === 0x9005) cpu.dataView.setUint16(30, (z + 1) & 0xffff, true);
    cpu.pc = (cpu.pc + 1) & 0x3fff;
    cpu.cycles += 3;
  }

  private rwwFetch(): void {
    this.rwwExecViolations++;
    if (this.rwwExecViolations <= 10) {
      this.log(`cpu: fetch from the RWW section at 0x${(this.cpu.pc * 2).toString(16)} while it is busy (reads are undefined on silicon)`);
    }
  }

  private checkStack(chip: Atmega328p): void {
    const sp = chip.sp;
    if (sp < this.minSp) this.minSp = sp;
    const over = sp < (this.stackLimit as number);
    if (over && !this.inOverflow) {
      this.stackOverflows++;
      this.log(`cpu: stack overflow: SP=0x${sp.toString(16)} below limit 0x${(this.stackLimit as number).toString(16)} at pc 0x${(chip.cpu.pc * 2).toString(16)}`);
    }
    this.inOverflow = over;
  }

  // ---- resets and power ----------------------------------------------------------------

  /** Reset the chip. Power-on sets only PORF; other causes add their flag to MCUSR. */
  reset(cause: ResetCause): void {
    if (cause === 'power') {
      if (this.poweredValue) this.powerCut(); // a power cycle: writes in progress tear
      this.poweredValue = true;
    } else if (!this.poweredValue) {
      this.log(`reset(${cause}) ignored: no power`);
      return;
    }
    const flag = { power: PORF, external: EXTRF, brownout: BORF, watchdog: WDRF }[cause];
    const old = this.chipValue;
    const mcusr = cause === 'power' ? PORF : (old.cpu.data[0x54] & 0x0f) | flag;
    this.abortChip(old, `${cause} reset`);
    this.resetHeldValue = false;
    this.chipValue = this.buildChip(old.cpu.cycles, mcusr, cause === 'power' ? null : old);
    this.resets.push({ cause, cycle: this.cycles });
    this.log(`reset: ${cause} (MCUSR=0x${mcusr.toString(16).padStart(2, '0')}), start at 0x${resetVector(this.fuses).toString(16)}`);
    this.wake();
  }

  /** Remove power: the CPU stops, SRAM is lost, a page erase/write or EEPROM write cycle in progress tears. */
  powerCut(): void {
    if (!this.poweredValue) return;
    this.abortChip(this.chipValue, 'power cut');
    this.bus.powerCut(this.seconds, this.rng);
    this.poweredValue = false;
    this.log('power: cut');
    this.wake();
  }

  /** Restore power: a power-on reset. */
  powerOn(): void {
    if (this.poweredValue) return;
    this.log('power: on');
    this.reset('power');
  }

  /** Cut the power when the board clock reaches `cycle`. */
  cutPowerAt(cycle: number): void {
    this.scheduler.schedule(cycle, () => this.powerCut());
  }

  private abortChip(chip: Atmega328p, why: string): void {
    const torn = chip.spm.abort(this.rng);
    if (torn) this.log(`${torn} by ${why}`);
    this.bus.abandon();
    this.haltUntil = 0;
  }

  private buildChip(cycle: number, mcusr: number, previous: Atmega328p | null): Atmega328p {
    const spmHost: SpmHost = {
      flash: this.flash,
      fuses: this.fuses,
      clockHz: this.clockHz,
      busySeconds: this.flashBusySeconds,
      log: (l) => this.log(l),
      wake: () => this.wake(),
      halt: (until) => {
        this.haltUntil = until;
        this.wake();
      },
      flashOpStarted: (ev) => this.flashOpStarted(ev),
    };
    const chip = new Atmega328p(
      {
        flash: this.flash,
        fuses: this.fuses,
        clockHz: this.clockHz,
        eepromBackend: this.eepromBackend,
        bus: this.bus,
        usartCounters: this.usartCounters,
        usartSink: (b: number, bit: number, f: FrameFormat) => this.uart.fromNode(b, bit, f),
        spmHost,
        now: () => this.seconds,
        onWatchdogReset: () => this.reset('watchdog'),
      },
      cycle,
      mcusr,
      resetVector(this.fuses),
    );
    const sram = chip.cpu.data;
    if (previous) {
      // SRAM keeps its content through every reset but a power-on one (.noinit relies on it).
      sram.set(previous.cpu.data.subarray(SRAM_START, RAMEND + 1), SRAM_START);
    } else {
      for (let a = SRAM_START; a <= RAMEND; a++) sram[a] = (this.rng() * 256) | 0;
    }
    this.attachPins(chip);
    this.inOverflow = false;
    return chip;
  }

  private flashOpStarted(ev: Omit<FlashOpEvent, 'n'>): number {
    const n = ++this.flashOps;
    this.wake();
    const full = { ...ev, n };
    for (const l of [...this.flashOpListeners]) l(full);
    return n;
  }

  /** Called when a page erase or write starts (before it lands); returns an unsubscribe function. */
  onFlashOp(listener: FlashOpListener): () => void {
    this.flashOpListeners.push(listener);
    return () => {
      const i = this.flashOpListeners.indexOf(listener);
      if (i >= 0) this.flashOpListeners.splice(i, 1);
    };
  }

  // ---- pins ----------------------------------------------------------------------------

  pin(name: string): Pin {
    return new Pin(this, name);
  }

  /** The live port, or null while the chip is unpowered or held in reset (pins tri-stated). */
  port(name: PortName) {
    return this.poweredValue && !this.resetHeldValue ? this.chipValue.ports[name] : null;
  }

  driven(pin: string): Level | undefined {
    return this.drives.get(canonicalPin(pin));
  }

  setDriven(pin: string, level: Level | undefined): void {
    const name = canonicalPin(pin);
    if (level === undefined) this.drives.delete(name);
    else this.drives.set(name, level);
    const r = resolvePin(name);
    if (r === 'RESET') return this.resetLine(level ?? 1);
    this.applyInput(this.chipValue, r.port, r.bit);
  }

  addPinListener(pin: string, cb: (level: Level) => void): () => void {
    const name = canonicalPin(pin);
    const list = this.pinListeners.get(name) ?? [];
    list.push(cb);
    this.pinListeners.set(name, list);
    return () => list.splice(list.indexOf(cb) >>> 0, 1);
  }

  private resetLine(level: Level): void {
    if (level === 0 && !this.resetHeldValue && this.poweredValue) {
      this.abortChip(this.chipValue, 'RESET low');
      this.resetHeldValue = true;
      this.log('reset: RESET pin low');
      this.wake();
    } else if (level === 1 && this.resetHeldValue) {
      this.resetHeldValue = false;
      this.reset('external');
    }
  }

  /** What the PIN register reads for an input: the outside drive, else the pull-up, else 0. */
  private applyInput(chip: Atmega328p, port: PortName, bit: number): void {
    const p = chip.ports[port];
    const driven = this.drives.get(`P${port}${bit}`);
    const pullup = (chip.cpu.data[p.portConfig.PORT] >> bit) & 1;
    p.setPin(bit, (driven ?? pullup) === 1);
  }

  private attachPins(chip: Atmega328p): void {
    for (const port of ['B', 'C', 'D'] as const) {
      const p = chip.ports[port];
      for (let bit = 0; bit < 8; bit++) this.applyInput(chip, port, bit);
      p.addListener((value, old) => {
        for (let bit = 0; bit < 8; bit++) {
          if (!this.drives.has(`P${port}${bit}`)) this.applyInput(chip, port, bit);
          if (((value ^ old) >> bit) & 1) {
            for (const cb of this.pinListeners.get(`P${port}${bit}`) ?? []) cb(((value >> bit) & 1) as Level);
          }
        }
      });
    }
  }
}
