// Turns what the user typed after --port into a ByteLink. A plain path is a serial port (or a
// pty); `scheme:rest` names another kind of link, registered by whoever provides it (the
// simulated node registers `sim:`), so the CLI's commands drive every kind the same way.
import type { ByteLink } from './link.ts';
import { LinkError, openSerial } from './serial.ts';
import { listPorts, type PortList } from './ports.ts';

export interface OpenOptions {
  baudRate: number;
}

export type SchemeOpener = (spec: string, o: OpenOptions) => Promise<ByteLink>;

const schemes = new Map<string, SchemeOpener>();

/** Makes `name:...` port specs open through `opener`. */
export function registerScheme(name: string, opener: SchemeOpener): void {
  schemes.set(name.toLowerCase(), opener);
}

/** Lazily loaded providers, so the CLI pays for the simulator only when a spec names it. */
const lazy: Record<string, () => Promise<unknown>> = {
  sim: () => import('./sim.ts'),
};

export function schemeOf(spec: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(spec);
  // A one-letter "scheme" is a Windows drive (C:\...), not a link kind.
  return m && m[1].length > 1 ? m[1].toLowerCase() : undefined;
}

export async function openPort(spec: string, o: OpenOptions): Promise<ByteLink> {
  const scheme = schemeOf(spec);
  if (!scheme) return openSerial(spec, { baudRate: o.baudRate });
  if (!schemes.has(scheme) && lazy[scheme]) {
    try {
      await lazy[scheme]();
    } catch (err) {
      throw new LinkError(`port "${spec}": the ${scheme}: link is not available (${(err as Error).message.split('\n')[0]})`, 'no-such-scheme');
    }
  }
  const opener = schemes.get(scheme);
  if (!opener) throw new LinkError(`port "${spec}": unknown link kind "${scheme}:" (known: ${[...new Set([...schemes.keys(), ...Object.keys(lazy)])].map((s) => `${s}:`).join(', ') || 'none'})`, 'no-such-scheme');
  return opener(spec, o);
}

export interface PortChoice {
  path: string;
  /** Set when the port was picked automatically: how. */
  auto?: PortList;
}

/** The port the user named, or the only one there is. */
export async function choosePort(spec: string | undefined, list: () => Promise<PortList> = () => listPorts()): Promise<PortChoice> {
  if (spec) return { path: spec };
  const found = await list();
  const how = found.note ? ` (${found.note})` : '';
  if (found.ports.length === 1) return { path: found.ports[0].path, auto: found };
  if (found.ports.length === 0) throw new LinkError(`no serial port found${how}: name one with --port`, 'no-port');
  throw new LinkError(`${found.ports.length} serial ports found (${found.ports.map((p) => p.path).join(', ')})${how}: choose one with --port`, 'many-ports');
}
