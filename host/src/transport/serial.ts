// A ByteLink over node-serialport. Any binding works: the default one for real ports and
// ptys (@serialport/bindings-cpp), or another that implements @serialport/bindings-interface,
// such as the simulated node's binding, so the CLI's own serial code drives a simulated node.
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import type { Clock } from './clock.ts';
import { Listeners, type ByteLink, type CloseListener, type DataListener } from './link.ts';

/** A node-serialport binding (@serialport/bindings-interface). */
export type SerialBinding = ConstructorParameters<typeof SerialPortStream>[0]['binding'];

export interface SerialOptions {
  baudRate?: number;
  binding?: SerialBinding;
  /** The clock the far end lives on, when the binding simulates one (given the open port). */
  clock?: (port: SerialPortStream) => Clock | undefined;
}

export class LinkError extends Error {
  constructor(message: string, readonly code = 'link-error') {
    super(message);
    this.name = 'LinkError';
  }
}

class SerialLink implements ByteLink {
  private readonly data = new Listeners<DataListener>();
  private readonly closed = new Listeners<CloseListener>();
  readonly bytesPerSecond: number;

  constructor(
    readonly name: string,
    private readonly port: SerialPortStream,
    baudRate: number,
    readonly clock: Clock | undefined,
  ) {
    this.bytesPerSecond = baudRate / 10;
    port.on('data', (b: Buffer) => this.data.emit(new Uint8Array(b.buffer, b.byteOffset, b.length)));
    port.on('close', (err?: Error) => this.closed.emit(err ?? undefined));
    // Write errors also arrive here; a link user learns of them through onClose.
    port.on('error', (err: Error) => this.closed.emit(err));
  }

  write(bytes: Uint8Array): void {
    if (this.port.isOpen) this.port.write(Buffer.from(bytes));
  }

  onData(l: DataListener): () => void {
    return this.data.add(l);
  }

  onClose(l: CloseListener): () => void {
    return this.closed.add(l);
  }

  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }
}

export async function openSerial(path: string, o: SerialOptions = {}): Promise<ByteLink> {
  const baudRate = o.baudRate ?? 115200;
  const binding = o.binding ?? (SerialPort.binding as unknown as SerialBinding);
  const port = new SerialPortStream({ binding, path, baudRate, autoOpen: false, hupcl: false } as never);
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(new LinkError(`cannot open ${path}: ${err.message}`, 'open-failed')) : resolve())),
  );
  return new SerialLink(path, port, baudRate, o.clock?.(port));
}
