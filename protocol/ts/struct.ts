// Encodes and decodes the packed little-endian structs of protocol/spec.ts, driven by the
// generated layouts, so a field's offset is never written twice.
import { layouts, type StructName, type StructTypes } from '../generated/protocol.ts';

export class ProtocolError extends Error {
  constructor(message: string, readonly code = 'bad-struct') {
    super(message);
    this.name = 'ProtocolError';
  }
}

type Input<T> = { [K in keyof T]?: T[K] extends object ? Input<T[K]> | Uint8Array : T[K] };

/** Encodes `value` (missing fields are zero). A variable tail is appended whole. */
export function encodeStruct<N extends StructName>(name: N, value: Input<StructTypes[N]>): Uint8Array {
  const layout = layouts[name];
  const v = value as Record<string, unknown>;
  const last = layout.fields[layout.fields.length - 1];
  const tail = layout.variable ? ((v[last.name] as Uint8Array | undefined) ?? new Uint8Array(0)) : new Uint8Array(0);
  const out = new Uint8Array(layout.size + tail.length);
  const dv = new DataView(out.buffer);
  for (const f of layout.fields) {
    const x = v[f.name];
    if (x === undefined) continue;
    switch (f.kind) {
      case 'u8': dv.setUint8(f.offset, x as number); break;
      case 'u16': dv.setUint16(f.offset, x as number, true); break;
      case 'u32': dv.setUint32(f.offset, (x as number) >>> 0, true); break;
      case 'u8[]': {
        const b = x as Uint8Array;
        if (b.length !== f.size) throw new ProtocolError(`${name}.${f.name} needs ${f.size} bytes, got ${b.length}`);
        out.set(b, f.offset);
        break;
      }
      case 'struct': out.set(x instanceof Uint8Array ? x : encodeStruct(f.struct!, x as never), f.offset); break;
      case 'bytes': out.set(x as Uint8Array, f.offset); break;
    }
  }
  return out;
}

/** Decodes a struct from the start of `bytes`; a variable tail takes the rest. */
export function decodeStruct<N extends StructName>(name: N, bytes: Uint8Array): StructTypes[N] {
  const layout = layouts[name];
  if (bytes.length < layout.size) {
    throw new ProtocolError(`${name} needs ${layout.size} bytes, got ${bytes.length}`, 'short-struct');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, unknown> = {};
  for (const f of layout.fields) {
    switch (f.kind) {
      case 'u8': out[f.name] = dv.getUint8(f.offset); break;
      case 'u16': out[f.name] = dv.getUint16(f.offset, true); break;
      case 'u32': out[f.name] = dv.getUint32(f.offset, true); break;
      case 'u8[]': out[f.name] = bytes.slice(f.offset, f.offset + f.size); break;
      case 'struct': out[f.name] = decodeStruct(f.struct!, bytes.subarray(f.offset, f.offset + f.size)); break;
      case 'bytes': out[f.name] = bytes.slice(f.offset); break;
    }
  }
  return out as unknown as StructTypes[N];
}

export function structSize(name: StructName): number {
  return layouts[name].size;
}
