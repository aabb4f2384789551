// ELF32 little-endian reader for avr-gcc output.
//
// Flash bytes are taken the way `avr-objcopy -O binary -R .eeprom -R .fuse -R .lock
// -R .signature` takes them: every allocated section with contents, placed at its load
// address (LMA). The LMA matters for .data, whose run-time address is in SRAM (0x800100 on
// a 328P) while its initial values are stored in flash right after .text.
//
// avr-gcc's linker scripts put the other memories at fixed offsets in the address space:
// EEPROM at 0x810000, fuses at 0x820000, lock bits at 0x830000, signature at 0x840000.
import { ElfError } from './errors.ts';
import { normalizeSegments, type Segment } from './memory.ts';

export const AVR_OFFSETS = { data: 0x800000, eeprom: 0x810000, fuse: 0x820000, lock: 0x830000, signature: 0x840000 } as const;

export interface ElfImage {
  /** Flash contents (.text, .data, any other loadable program section) at load addresses. */
  segments: Segment[];
  /** EEPROM contents, addresses relative to the start of EEPROM. */
  eeprom?: Segment[];
  /** Fuse bytes in avr-libc order: low, high, extended (as many as the part has). */
  fuses?: Uint8Array;
  lock?: Uint8Array;
  /** Signature bytes in the order the chip reports them (0x1E first). */
  signature?: Uint8Array;
  entry: number;
  /**
   * Sections with contents left out, as avr-objcopy leaves them out: allocated ones outside
   * the memories above, and unallocated ones that have an address (Optiboot's .version).
   */
  skipped: string[];
}

const EM_AVR = 83;
const PT_LOAD = 1;
const SHT_PROGBITS = 1;
const SHT_NOBITS = 8;
const SHF_ALLOC = 2;

interface Header {
  entry: number;
  phoff: number;
  shoff: number;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

interface ProgramHeader {
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

interface Section {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
}

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

export function parseElf(bytes: Uint8Array, name = 'input.elf'): ElfImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = readHeader(bytes, view, name);
  const phdrs = table(header.phnum, (i) => readProgramHeader(view, header.phoff + i * header.phentsize, name));
  const sections = readSections(bytes, view, header, name);
  const pieces = sections.length > 0 ? fromSections(bytes, sections, phdrs, name) : fromSegments(bytes, phdrs, name);
  return classify(pieces, header.entry, name);
}

interface Piece {
  name: string;
  lma: number;
  data: Uint8Array;
  unallocated?: boolean;
}

function readHeader(bytes: Uint8Array, view: DataView, name: string): Header {
  if (!isElf(bytes)) throw new ElfError(name, 'not-elf', 'not an ELF file (no 0x7F "ELF" magic)');
  if (bytes.length < 52) throw new ElfError(name, 'truncated', `the ELF header needs 52 bytes, the file has ${bytes.length}`);
  if (bytes[4] !== 1) throw new ElfError(name, 'unsupported', 'a 64-bit ELF file; avr-gcc writes 32-bit ELF');
  if (bytes[5] !== 1) throw new ElfError(name, 'unsupported', 'a big-endian ELF file; avr-gcc writes little-endian ELF');
  const machine = view.getUint16(18, true);
  if (machine !== EM_AVR) throw new ElfError(name, 'unsupported', `built for ELF machine ${machine}, not AVR (${EM_AVR})`);
  return {
    entry: view.getUint32(24, true),
    phoff: view.getUint32(28, true),
    shoff: view.getUint32(32, true),
    phentsize: view.getUint16(42, true),
    phnum: view.getUint16(44, true),
    shentsize: view.getUint16(46, true),
    shnum: view.getUint16(48, true),
    shstrndx: view.getUint16(50, true),
  };
}

function table<T>(n: number, read: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => read(i));
}

function need(view: DataView, offset: number, length: number, what: string, name: string): void {
  if (offset + length > view.byteLength) throw new ElfError(name, 'truncated', `${what} at offset ${offset} runs past the end of the file (${view.byteLength} bytes)`);
}

function readProgramHeader(view: DataView, at: number, name: string): ProgramHeader {
  need(view, at, 32, 'a program header', name);
  const u = (o: number) => view.getUint32(at + o, true);
  return { type: u(0), offset: u(4), vaddr: u(8), paddr: u(12), filesz: u(16), memsz: u(20) };
}

function readSections(bytes: Uint8Array, view: DataView, h: Header, name: string): Section[] {
  if (h.shnum === 0 || h.shoff === 0) return [];
  const raw = table(h.shnum, (i) => {
    const at = h.shoff + i * h.shentsize;
    need(view, at, 40, 'a section header', name);
    const u = (o: number) => view.getUint32(at + o, true);
    return { nameOff: u(0), type: u(4), flags: u(8), addr: u(12), offset: u(16), size: u(20) };
  });
  const strtab = raw[h.shstrndx];
  return raw.map((s) => ({ ...s, name: strtab ? cString(bytes, strtab.offset + s.nameOff) : '' }));
}

function cString(bytes: Uint8Array, at: number): string {
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return Buffer.from(bytes.subarray(at, end)).toString('latin1');
}

/** Sections with contents, at the LMA their PT_LOAD segment gives them (as BFD computes it). */
function fromSections(bytes: Uint8Array, sections: Section[], phdrs: ProgramHeader[], name: string): Piece[] {
  const pieces: Piece[] = [];
  for (const s of sections) {
    if (s.type === SHT_NOBITS || s.size === 0) continue;
    // Not allocated: objcopy leaves it out. Debug sections sit at address 0; one with an
    // address (Optiboot's .version at 0x7FFE) is worth naming, as objcopy needs to be told.
    if (!(s.flags & SHF_ALLOC)) {
      if (s.addr !== 0 && s.type === SHT_PROGBITS) pieces.push({ name: s.name, lma: s.addr, data: new Uint8Array(0), unallocated: true });
      continue;
    }
    if (s.offset + s.size > bytes.length) throw new ElfError(name, 'truncated', `section ${s.name} runs past the end of the file`);
    const seg = phdrs.find(
      (p) => p.type === PT_LOAD && s.offset >= p.offset && s.offset + s.size <= p.offset + p.filesz && s.addr >= p.vaddr && s.addr + s.size <= p.vaddr + p.memsz,
    );
    const lma = seg ? seg.paddr + (s.addr - seg.vaddr) : s.addr;
    pieces.push({ name: s.name, lma, data: bytes.subarray(s.offset, s.offset + s.size) });
  }
  return pieces;
}

/** A file stripped of section headers still has its PT_LOAD segments. */
function fromSegments(bytes: Uint8Array, phdrs: ProgramHeader[], name: string): Piece[] {
  return phdrs
    .filter((p) => p.type === PT_LOAD && p.filesz > 0)
    .map((p, i) => {
      if (p.offset + p.filesz > bytes.length) throw new ElfError(name, 'truncated', `program segment ${i} runs past the end of the file`);
      return { name: `segment ${i}`, lma: p.paddr, data: bytes.subarray(p.offset, p.offset + p.filesz) };
    });
}

function classify(pieces: Piece[], entry: number, name: string): ElfImage {
  const flash: Segment[] = [];
  const eeprom: Segment[] = [];
  const image: ElfImage = { segments: [], entry, skipped: [] };
  for (const p of pieces) {
    if (p.unallocated) {
      image.skipped.push(p.name);
      continue;
    }
    const space = spaceOf(p);
    const data = Uint8Array.from(p.data);
    if (space === 'flash') flash.push({ address: p.lma, data });
    else if (space === 'eeprom') eeprom.push({ address: p.lma - AVR_OFFSETS.eeprom, data });
    else if (space === 'fuse') image.fuses = data;
    else if (space === 'lock') image.lock = data;
    // avr-libc stores the signature low byte first (SIGNATURE_2, _1, _0).
    else if (space === 'signature') image.signature = data.slice(0, 3).reverse();
    else image.skipped.push(p.name);
  }
  image.segments = normalizeSegments(flash);
  if (eeprom.length) image.eeprom = normalizeSegments(eeprom);
  if (image.segments.length === 0 && !image.eeprom) throw new ElfError(name, 'no-program', 'the ELF file has no loadable program bytes');
  return image;
}

type Space = 'flash' | 'eeprom' | 'fuse' | 'lock' | 'signature' | 'other';

function spaceOf(p: Piece): Space {
  const byName: Record<string, Space> = { '.eeprom': 'eeprom', '.fuse': 'fuse', '.lock': 'lock', '.signature': 'signature' };
  if (byName[p.name]) return byName[p.name];
  if (p.lma < AVR_OFFSETS.data) return 'flash';
  // Stripped files have no section names: fall back on the linker scripts' fixed offsets.
  const region = Math.floor(p.lma / 0x10000) * 0x10000;
  const byRegion: Record<number, Space> = {
    [AVR_OFFSETS.eeprom]: 'eeprom',
    [AVR_OFFSETS.fuse]: 'fuse',
    [AVR_OFFSETS.lock]: 'lock',
    [AVR_OFFSETS.signature]: 'signature',
  };
  return byRegion[region] ?? 'other';
}
