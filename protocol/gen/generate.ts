// Generates the C header and the TypeScript module from protocol/spec.ts.
//   npx tsx protocol/gen/generate.ts          write the files
//   npx tsx protocol/gen/generate.ts --check  exit 1 if any file on disk is stale
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, enums, messages } from '../spec.ts';
import { layouts, snake, type FieldLayout } from './layout.ts';
import { vectorFiles } from './vectors.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BANNER = 'Generated from protocol/spec.ts by protocol/gen/generate.ts. Do not edit: run `make gen`.';

const hex = (v: number, width = 2) => '0x' + v.toString(16).toUpperCase().padStart(width, '0');
const upper = (s: string) => snake(s).toUpperCase();

function cField(f: FieldLayout): string {
  if (f.struct) return `sb_${snake(f.struct)} ${f.name};`;
  if (f.type === 'bytes') return `uint8_t ${f.name}[];`;
  const arr = /^u8\[(\d+)\]$/.exec(f.type);
  if (arr) return `uint8_t ${f.name}[${arr[1]}];`;
  return `${f.type.replace('u', 'uint')}_t ${f.name};`;
}

function cHeader(): string {
  const out: string[] = [];
  out.push(`/* ${BANNER} */`, '#ifndef STAGEBOOT_PROTOCOL_H', '#define STAGEBOOT_PROTOCOL_H', '');
  // The constants and offsets also serve assembly sources (the library's .S files): the
  // assembler knows no UL suffix and no structs, so those are C-only.
  out.push('#ifdef __ASSEMBLER__', '#define SB_UL(v) v', '#else', '#include <stdint.h>', '#define SB_UL(v) v##UL');
  out.push('#ifdef __cplusplus', '#define SB_STATIC_ASSERT(c, m) static_assert(c, m)', '#else', '#define SB_STATIC_ASSERT(c, m) _Static_assert(c, m)', '#endif');
  out.push('#endif', '');
  out.push('/* ---- constants ---- */');
  for (const c of constants) out.push(`/* ${c.doc} */`, `#define SB_${c.name} ${c.value > 9 ? `SB_UL(${hex(c.value)})` : c.value}`);
  for (const e of enums) {
    out.push('', `/* ---- ${e.name}: ${e.doc} ---- */`);
    for (const [k, v] of Object.entries(e.values)) out.push(`#define SB_${e.prefix}_${k} ${hex(v.value)} /* ${v.doc} */`);
  }
  out.push('', '/* ---- message types: a reply is the request type | SB_REPLY_BIT ---- */');
  for (const m of messages) out.push(`#define SB_MSG_${m.name} ${hex(m.code)} /* ${m.doc} */`);
  for (const l of layouts()) {
    const U = upper(l.name);
    out.push('', `/* ${l.name}: ${l.doc} */`, '#ifndef __ASSEMBLER__', 'typedef struct __attribute__((packed)) {');
    for (const f of l.fields) out.push(`  ${cField(f)} /* ${f.doc} */`);
    out.push(`} ${l.cName};`);
    out.push(`SB_STATIC_ASSERT(sizeof(${l.cName}) == ${l.size}, "${l.cName} layout");`, '#endif');
    out.push(`#define SB_${U}_SIZE ${l.size}`);
    for (const f of l.fields) out.push(`#define SB_${U}_OFF_${upper(f.name)} ${f.offset}`);
  }
  out.push('', '#endif /* STAGEBOOT_PROTOCOL_H */', '');
  return out.join('\n');
}

function tsType(f: FieldLayout): string {
  if (f.struct) return f.struct;
  if (f.type === 'bytes' || f.type.startsWith('u8[')) return 'Uint8Array';
  return 'number';
}

function tsModule(): string {
  const out: string[] = [`// ${BANNER}`, ''];
  for (const c of constants) out.push(`/** ${c.doc} */`, `export const ${c.name} = ${c.value > 9 ? hex(c.value) : c.value};`);
  for (const e of enums) {
    out.push('', `/** ${e.doc} */`, `export const ${e.name} = {`);
    for (const [k, v] of Object.entries(e.values)) out.push(`  /** ${v.doc} */`, `  ${k}: ${hex(v.value)},`);
    out.push('} as const;', `export type ${e.name} = (typeof ${e.name})[keyof typeof ${e.name}];`);
  }
  out.push('', '/** Message types; a reply is the request type | REPLY_BIT. */', 'export const Msg = {');
  for (const m of messages) out.push(`  /** ${m.doc} */`, `  ${m.name}: ${hex(m.code)},`);
  out.push('} as const;', 'export type Msg = (typeof Msg)[keyof typeof Msg];', '');
  out.push('/** Request and reply payload struct of each message (null: empty payload). */', 'export const messagePayloads = {');
  for (const m of messages) out.push(`  ${m.name}: { request: ${JSON.stringify(m.request)}, reply: ${JSON.stringify(m.reply)} },`);
  out.push('} as const;', '');
  out.push('export type FieldKind = "u8" | "u16" | "u32" | "u8[]" | "bytes" | "struct";');
  out.push('export interface FieldLayout { name: string; kind: FieldKind; offset: number; size: number; struct?: StructName }');
  out.push('export interface StructLayout { size: number; variable: boolean; fields: readonly FieldLayout[] }', '');
  const ls = layouts();
  out.push(`export type StructName = ${ls.map((l) => JSON.stringify(l.name)).join(' | ')};`, '');
  for (const l of ls) {
    out.push(`/** ${l.doc} */`, `export interface ${l.name} {`);
    for (const f of l.fields) out.push(`  /** ${f.doc} */`, `  ${f.name}: ${tsType(f)};`);
    out.push('}', '');
  }
  out.push('export interface StructTypes {', ...ls.map((l) => `  ${l.name}: ${l.name};`), '}', '');
  out.push('/** Byte layout of every struct: offsets and sizes. */', 'export const layouts: Record<StructName, StructLayout> = {');
  for (const l of ls) {
    out.push(`  ${l.name}: { size: ${l.size}, variable: ${l.variable}, fields: [`);
    for (const f of l.fields) {
      const kind = f.struct ? 'struct' : f.type.startsWith('u8[') ? 'u8[]' : f.type;
      out.push(`    { name: '${f.name}', kind: '${kind}', offset: ${f.offset}, size: ${f.size}${f.struct ? `, struct: '${f.struct}'` : ''} },`);
    }
    out.push('  ] },');
  }
  out.push('};', '');
  return out.join('\n');
}

const outputs: Record<string, string> = {
  'protocol/generated/stageboot_protocol.h': cHeader(),
  'sketch-lib/src/stageboot_protocol.h': cHeader(),
  'protocol/generated/protocol.ts': tsModule(),
  ...vectorFiles(),
};

const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, text] of Object.entries(outputs)) {
  const path = join(root, rel);
  let old = '';
  try { old = readFileSync(path, 'utf8'); } catch { /* missing counts as stale */ }
  if (old === text) continue;
  if (check) { console.error(`check-gen: ${rel} is stale; run 'make gen' and commit it`); stale++; continue; }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`gen: wrote ${rel}`);
}
if (check && stale === 0) console.log('check-gen: generated protocol files are up to date');
process.exitCode = stale ? 1 : 0;
