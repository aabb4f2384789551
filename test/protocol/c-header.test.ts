// The generated C header must compile for the AVR (C and C++, as the bootloader and the
// Arduino library use it) and lay every struct out exactly as the TypeScript side does.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layouts } from '../../protocol/gen/layout.ts';
import { constants, enums, messages } from '../../protocol/spec.ts';

const root = join(import.meta.dirname, '..', '..');
const out = join(root, 'build', 'test-protocol');
const header = join(root, 'protocol', 'generated');

describe('generated C header', () => {
  it.each([
    ['avr-gcc', 'c', '-std=gnu99'],
    ['avr-g++', 'c++', '-std=gnu++11'],
  ])('compiles with %s as %s', (cc, lang, std) => {
    mkdirSync(out, { recursive: true });
    const src = join(out, `include.${lang === 'c' ? 'c' : 'cpp'}`);
    writeFileSync(src, '#include "stageboot_protocol.h"\nint main(void) { return 0; }\n');
    execFileSync(cc, ['-mmcu=atmega328p', std, '-Wall', '-Werror', '-I', header, '-c', src, '-o', join(out, `include-${lang}.o`)]);
  });

  it('serves assembly sources: constants and offsets assemble, structs are left out', () => {
    mkdirSync(out, { recursive: true });
    const src = join(out, 'include.S');
    // A wide constant (UL in C) and an offset must reach the assembler as plain numbers.
    writeFileSync(src, '#include "stageboot_protocol.h"\n.byte lo8(SB_IMAGE_MAGIC), SB_SLOT_RECORD_OFF_HEADER\n');
    const obj = join(out, 'include-asm.o');
    execFileSync('avr-gcc', ['-mmcu=atmega328p', '-x', 'assembler-with-cpp', '-I', header, '-c', src, '-o', obj]);
    const bin = join(out, 'include-asm.bin');
    execFileSync('avr-objcopy', ['-O', 'binary', '-j', '.text', obj, bin]);
    expect([...readFileSync(bin)]).toEqual([0x53, 16]);
  });

  it('lays out every struct and value as the TypeScript module does', () => {
    mkdirSync(out, { recursive: true });
    const lines: string[] = ['#include <stdio.h>', '#include <stddef.h>', '#include "stageboot_protocol.h"', 'int main(void) {'];
    const expected: string[] = [];
    for (const l of layouts()) {
      lines.push(`  printf("${l.cName} %u\\n", (unsigned)sizeof(${l.cName}));`);
      expected.push(`${l.cName} ${l.size}`);
      for (const f of l.fields) {
        lines.push(`  printf("${l.cName}.${f.name} %u\\n", (unsigned)offsetof(${l.cName}, ${f.name}));`);
        expected.push(`${l.cName}.${f.name} ${f.offset}`);
      }
    }
    for (const c of constants) {
      lines.push(`  printf("SB_${c.name} %lu\\n", (unsigned long)SB_${c.name});`);
      expected.push(`SB_${c.name} ${c.value}`);
    }
    for (const e of enums) for (const [k, v] of Object.entries(e.values)) {
      lines.push(`  printf("SB_${e.prefix}_${k} %lu\\n", (unsigned long)SB_${e.prefix}_${k});`);
      expected.push(`SB_${e.prefix}_${k} ${v.value}`);
    }
    for (const m of messages) {
      lines.push(`  printf("SB_MSG_${m.name} %lu\\n", (unsigned long)SB_MSG_${m.name});`);
      expected.push(`SB_MSG_${m.name} ${m.code}`);
    }
    lines.push('  return 0;', '}');
    const src = join(out, 'layout.c');
    writeFileSync(src, lines.join('\n'));
    const exe = join(out, 'layout');
    execFileSync('gcc', ['-std=gnu11', '-Wall', '-Werror', '-I', header, src, '-o', exe]);
    expect(execFileSync(exe, { encoding: 'utf8' }).trim().split('\n')).toEqual(expected);
  });
});
