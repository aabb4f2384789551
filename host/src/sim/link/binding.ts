// A SimNode's serial line as a `serialport` binding, so host code written against
// @serialport/stream drives a simulated node in-process, unchanged:
//
//   const unregister = SimBinding.register('sim:0', node);
//   const port = new SerialPortStream({ binding: SimBinding, path: 'sim:0', baudRate: 115200 });
//
// While a port is open a SimRunner runs the node in the background, as fast as possible by
// default: nothing outside the process can observe the simulated clock, so there is no reason
// to wait for the wall clock. The host's baud rate is the port's, so a mismatch with the
// firmware's UBRR garbles bytes as on a real wire.
//
// DTR behaves as on an Arduino with the auto-reset capacitor: opening the port, or asserting
// DTR again after dropping it, resets the node (MCUSR.EXTRF). `dtrReset: false` turns it off.

import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortInfo,
  PortStatus,
  SetOptions,
  UpdateOptions,
} from '@serialport/bindings-interface' with { 'resolution-mode': 'require' }; // its exports map has no types for ESM
import type { SimNode } from '../node.ts';
import { resetAndAwaitReceiver } from './auto-reset.ts';
import { SimRunner } from './runner.ts';

export interface SimPortOptions {
  /** Simulated seconds per wall-clock second while open; default Infinity (flat out). */
  speed?: number;
  /** Reset the node on open and on each DTR assertion, like an Arduino's auto-reset; default true. */
  dtrReset?: boolean;
  /** How long (simulated) a reset waits for the firmware to enable its receiver; default 0.1 s. */
  resetHoldSeconds?: number;
}

interface Entry {
  node: SimNode;
  opts: SimPortOptions;
  open: SimPortBinding | null;
}

const ports = new Map<string, Entry>();

class CanceledError extends Error {
  readonly canceled = true;
}

interface PendingRead {
  buffer: Buffer;
  offset: number;
  length: number;
  resolve: (r: { buffer: Buffer; bytesRead: number }) => void;
  reject: (err: Error) => void;
}

export interface SimBindingInterface extends BindingInterface<SimPortBinding, OpenOptions, PortInfo> {
  /** Make `node` reachable under `path` (any string, e.g. "sim:0"); returns an unregister function. */
  register(path: string, node: SimNode, opts?: SimPortOptions): () => void;
}

export const SimBinding: SimBindingInterface = {
  register(path, node, opts = {}) {
    if (ports.has(path)) throw new Error(`sim port ${path} is already registered`);
    const entry: Entry = { node, opts, open: null };
    ports.set(path, entry);
    return () => {
      if (ports.get(path) === entry) ports.delete(path);
      void entry.open?.close();
    };
  },

  async list() {
    return [...ports.keys()].map((path) => ({
      path,
      manufacturer: 'stageboot simulator',
      serialNumber: undefined,
      pnpId: undefined,
      locationId: undefined,
      productId: undefined,
      vendorId: undefined,
    }));
  },

  async open(options) {
    if (!options || typeof options.path !== 'string') throw new TypeError('"path" is not a valid port');
    if (!options.baudRate) throw new TypeError('"baudRate" is not a valid baudRate');
    const entry = ports.get(options.path);
    if (!entry) throw new Error(`no simulated node is registered as ${options.path}`);
    if (entry.open) throw new Error(`${options.path} is already open`);
    const openOptions: Required<OpenOptions> = {
      dataBits: 8,
      lock: true,
      stopBits: 1,
      parity: 'none',
      rtscts: false,
      xon: false,
      xoff: false,
      xany: false,
      hupcl: true,
      ...options,
    };
    const port = new SimPortBinding(entry.node, openOptions, entry.opts, () => {
      entry.open = null;
    });
    entry.open = port;
    return port;
  },
};

export class SimPortBinding implements BindingPortInterface {
  readonly openOptions: Required<OpenOptions>;
  isOpen = true;
  readonly runner: SimRunner;
  private readonly rx: Buffer[] = [];
  private pendingRead: PendingRead | null = null;
  private dtr = true;
  private readonly unsubscribe: () => void;
  private readonly holdCycles: number;

  constructor(
    readonly node: SimNode,
    openOptions: Required<OpenOptions>,
    private readonly opts: SimPortOptions,
    private readonly onClose: () => void,
  ) {
    this.openOptions = openOptions;
    this.holdCycles = Math.round((opts.resetHoldSeconds ?? 0.1) * node.clockHz);
    node.uart.baud = openOptions.baudRate;
    this.unsubscribe = node.uart.onData((bytes) => this.received(bytes));
    // Opening a tty asserts DTR: on an Arduino that is the auto-reset pulse.
    if (opts.dtrReset !== false) resetAndAwaitReceiver(node, this.holdCycles);
    this.runner = new SimRunner(node, {
      speed: opts.speed ?? Infinity,
      onError: (err) => this.fail(err),
    });
    this.runner.start();
  }

  async close(): Promise<void> {
    if (!this.isOpen) throw new Error('Port is not open');
    this.isOpen = false;
    this.runner.stop();
    this.unsubscribe();
    this.rx.length = 0;
    this.onClose();
    this.cancelRead(new CanceledError('port is closed'));
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!this.isOpen) throw new CanceledError('Port is not open');
    if (this.pendingRead) throw new Error('a read is already pending');
    if (this.rx.length) return { buffer, bytesRead: this.take(buffer, offset, length) };
    return new Promise((resolve, reject) => {
      this.pendingRead = { buffer, offset, length, resolve, reject };
    });
  }

  async write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) throw new CanceledError('Port is not open');
    const bytes = new Uint8Array(buffer);
    this.runner.hostInput(() => this.node.uart.write(bytes));
  }

  async update(options: UpdateOptions): Promise<void> {
    if (!this.isOpen) throw new Error('Port is not open');
    if (!Number.isFinite(options?.baudRate) || options.baudRate <= 0) throw new TypeError('"baudRate" must be a positive number');
    this.node.uart.baud = options.baudRate;
    this.openOptions.baudRate = options.baudRate;
  }

  async set(options: SetOptions): Promise<void> {
    if (!this.isOpen) throw new Error('Port is not open');
    const dtr = options.dtr ?? true;
    if (dtr && !this.dtr && this.opts.dtrReset !== false) resetAndAwaitReceiver(this.node, this.holdCycles);
    this.dtr = dtr;
  }

  async get(): Promise<PortStatus> {
    if (!this.isOpen) throw new Error('Port is not open');
    return { cts: false, dsr: false, dcd: false };
  }

  async getBaudRate(): Promise<{ baudRate: number }> {
    if (!this.isOpen) throw new Error('Port is not open');
    return { baudRate: this.node.uart.baud };
  }

  async flush(): Promise<void> {
    if (!this.isOpen) throw new Error('Port is not open');
    this.rx.length = 0;
    this.node.uart.flush();
  }

  /** Resolves once every byte written has left the host's transmitter (in simulated time). */
  async drain(): Promise<void> {
    if (!this.isOpen) throw new Error('Port is not open');
    if (this.node.uart.queued === 0) return;
    await new Promise<void>((resolve) => {
      const off = this.runner.onSlice(() => {
        if (this.node.uart.queued === 0 || !this.isOpen) {
          off();
          resolve();
        }
      });
    });
  }

  private received(bytes: Uint8Array): void {
    this.rx.push(Buffer.from(bytes));
    const p = this.pendingRead;
    if (!p) return;
    this.pendingRead = null;
    p.resolve({ buffer: p.buffer, bytesRead: this.take(p.buffer, p.offset, p.length) });
  }

  private take(buffer: Buffer, offset: number, length: number): number {
    let n = 0;
    while (this.rx.length && n < length) {
      const head = this.rx[0]!;
      const k = head.copy(buffer, offset + n, 0, Math.min(head.length, length - n));
      n += k;
      if (k === head.length) this.rx.shift();
      else this.rx[0] = head.subarray(k);
    }
    return n;
  }

  private cancelRead(err: Error): void {
    const p = this.pendingRead;
    this.pendingRead = null;
    p?.reject(err);
  }

  /** The simulation threw: a read error that is not `canceled` makes the stream disconnect. */
  private fail(err: unknown): void {
    this.cancelRead(err instanceof Error ? err : new Error(String(err)));
  }
}
