// Computes byte offsets and sizes of the structs in protocol/spec.ts. Shared by the generator
// and by tests that want to check the generated files against the spec.
import { structs, type Field, type Struct } from '../spec.ts';

export interface FieldLayout {
  name: string;
  type: Field['type'];
  struct?: string;
  offset: number;
  /** Size in bytes; -1 for a variable-length tail. */
  size: number;
  doc: string;
}

export interface StructLayout {
  name: string;
  cName: string;
  doc: string;
  /** Fixed size; with a variable tail, the size of the fixed part. */
  size: number;
  variable: boolean;
  fields: FieldLayout[];
}

export function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function fieldSize(f: Field, byName: Map<string, Struct>, seen: Set<string>): number {
  if (f.struct) return structLayout(f.struct, byName, seen).size;
  if (f.type === 'u8') return 1;
  if (f.type === 'u16') return 2;
  if (f.type === 'u32') return 4;
  if (f.type === 'bytes') return -1;
  const m = /^u8\[(\d+)\]$/.exec(f.type);
  if (!m) throw new Error(`unknown field type ${f.type}`);
  return Number(m[1]);
}

function structLayout(name: string, byName: Map<string, Struct>, seen = new Set<string>()): StructLayout {
  const s = byName.get(name);
  if (!s) throw new Error(`unknown struct ${name}`);
  if (seen.has(name)) throw new Error(`struct ${name} contains itself`);
  seen.add(name);
  let offset = 0;
  let variable = false;
  const fields: FieldLayout[] = s.fields.map((f, i) => {
    const size = fieldSize(f, byName, new Set(seen));
    if (size < 0) {
      if (i !== s.fields.length - 1) throw new Error(`${name}.${f.name}: a variable-length field must be last`);
      variable = true;
    }
    const out = { name: f.name, type: f.type, struct: f.struct, offset, size, doc: f.doc };
    offset += Math.max(size, 0);
    return out;
  });
  return { name, cName: `sb_${snake(name)}`, doc: s.doc, size: offset, variable, fields };
}

export function layouts(): StructLayout[] {
  const byName = new Map(structs.map((s) => [s.name, s]));
  return structs.map((s) => structLayout(s.name, byName));
}
