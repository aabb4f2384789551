// Reads avrdude's configuration file (the 7.1 grammar) for its part descriptions, so any AVR
// avrdude knows can be named as a target. Only the structure is interpreted: blocks
// (`part`, `programmer`, `serialadapter`, optionally `parent "id"`), `key = values ;`
// statements, `memory "name" ... ;` blocks and `= NULL` removals. Values are kept as tokens;
// confPartToTarget() turns the few this project needs into a TargetPart.
//
// Inheritance follows avrdude 7.1: a child starts as a copy of its parent; its statements
// override; a memory block with an existing name extends that memory, and NULL removes.
import { readFileSync } from 'node:fs';
import { TargetError } from './errors.ts';
import type { TargetPart } from './parts.ts';

export interface ConfMemory {
  props: Record<string, string[]>;
}

export interface ConfPart {
  id: string;
  desc: string;
  parent?: string;
  /** Statement values as tokens, strings unquoted: signature → ['0x1e', '0x95', '0x0f']. */
  props: Record<string, string[]>;
  memories: Record<string, ConfMemory>;
  /** Line of the `part` keyword, for messages. */
  line: number;
}

interface Token {
  text: string;
  quoted: boolean;
  line: number;
}

const PUNCT = new Set(['=', ';', ',', '|']);

function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        if (text[j] === '\n') line++;
        s += text[j++];
      }
      if (j >= text.length) throw confError(file, line, 'a string is not closed');
      tokens.push({ text: s, quoted: true, line });
      i = j + 1;
    } else if (PUNCT.has(c)) {
      tokens.push({ text: c, quoted: false, line });
      i++;
    } else {
      let j = i;
      while (j < text.length && !/[\s=;,|"#]/.test(text[j])) j++;
      tokens.push({ text: text.slice(i, j), quoted: false, line });
      i = j;
    }
  }
  return tokens;
}

function confError(file: string, line: number, detail: string): TargetError {
  return new TargetError(`${file} line ${line}: ${detail}`, 'avrdude-conf', { file, line });
}

class Parser {
  private pos = 0;
  readonly parts = new Map<string, ConfPart>();

  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
  ) {}

  parse(): ConfPart[] {
    while (this.pos < this.tokens.length) {
      const t = this.next();
      if (t.quoted) throw this.error(t, `unexpected string "${t.text}"`);
      if (t.text === 'part') this.block(t, true);
      else if (t.text === 'programmer' || t.text === 'serialadapter') this.block(t, false);
      else this.statement(t, {});
    }
    return [...this.parts.values()];
  }

  private next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw confError(this.file, this.tokens[this.tokens.length - 1]?.line ?? 1, 'unexpected end of file');
    return t;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private error(t: Token, detail: string): TargetError {
    return confError(this.file, t.line, detail);
  }

  private block(start: Token, isPart: boolean): void {
    let parentId: string | undefined;
    if (this.peek()?.text === 'parent' && !this.peek()?.quoted) {
      this.pos++;
      parentId = this.next().text;
    }
    const parent = isPart && parentId !== undefined ? this.parts.get(parentId) : undefined;
    if (isPart && parentId !== undefined && !parent) throw this.error(start, `part parent "${parentId}" is not defined before this part`);
    const part: ConfPart = parent
      ? { ...structuredClone(parent), parent: parentId, line: start.line }
      : { id: '', desc: '', props: {}, memories: {}, line: start.line };
    for (;;) {
      const t = this.next();
      if (t.text === ';' && !t.quoted) break;
      if (t.text === 'memory' && !t.quoted) this.memory(part);
      else this.statement(t, part.props);
    }
    if (!isPart) return;
    part.id = part.props.id?.[0] ?? '';
    part.desc = part.props.desc?.[0] ?? '';
    if (!part.id) throw this.error(start, 'a part without an id');
    this.parts.set(part.id, part);
  }

  private memory(part: ConfPart): void {
    const name = this.next();
    if (!name.quoted) throw this.error(name, `memory needs a quoted name, found ${name.text}`);
    if (this.peek()?.text === '=') {
      this.pos++;
      this.expectNull();
      delete part.memories[name.text];
      return;
    }
    const mem = part.memories[name.text] ?? (part.memories[name.text] = { props: {} });
    for (;;) {
      const t = this.next();
      if (t.text === ';' && !t.quoted) return;
      this.statement(t, mem.props);
    }
  }

  private expectNull(): void {
    const v = this.next();
    const end = this.next();
    if (v.text !== 'NULL' || end.text !== ';') throw this.error(v, 'only NULL may be assigned to a memory');
  }

  /** `key = v1 v2, v3 | v4 ;` or `key "value" ;` (memory alias). `= NULL` deletes the key. */
  private statement(key: Token, into: Record<string, string[]>): void {
    if (key.quoted || PUNCT.has(key.text)) throw this.error(key, `expected a parameter name, found "${key.text}"`);
    if (this.peek()?.text === '=' && !this.peek()?.quoted) this.pos++;
    const values: string[] = [];
    for (;;) {
      const t = this.next();
      if (!t.quoted && t.text === ';') break;
      if (!t.quoted && (t.text === ',' || t.text === '|')) continue;
      values.push(t.text);
    }
    if (values.length === 1 && values[0] === 'NULL') delete into[key.text];
    else into[key.text] = values;
  }
}

/** Parses the text of an avrdude.conf; parts come back with inheritance resolved. */
export function parseAvrdudeConf(text: string, file = 'avrdude.conf'): ConfPart[] {
  return new Parser(tokenize(text, file), file).parse();
}

function num(values: string[] | undefined): number | undefined {
  if (!values || values.length === 0) return undefined;
  const n = Number(values[0]);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The target view of a part, or undefined for templates (ids starting with '.') and parts
 * with no signature or flash (which cannot be a stageboot target).
 */
export function confPartToTarget(p: ConfPart): TargetPart | undefined {
  if (p.id.startsWith('.')) return undefined;
  const sig = (p.props.signature ?? []).map(Number);
  const flash = p.memories.flash?.props;
  const flashSize = num(flash?.size);
  if (sig.length !== 3 || sig.some((b) => !Number.isInteger(b)) || !flashSize) return undefined;
  const nBoot = num(p.props.n_boot_sections) ?? 0;
  // boot_section_size is the smallest boot section in bytes; each BOOTSZ step doubles it.
  const smallest = num(p.props.boot_section_size) ?? 0;
  const bootWords = smallest > 0 ? Array.from({ length: nBoot }, (_, i) => (smallest << i) / 2) : [];
  return {
    id: p.id,
    name: p.desc || p.id,
    signature: [sig[0], sig[1], sig[2]],
    flashSize,
    pageSize: num(flash?.page_size) ?? 0,
    eepromSize: num(p.memories.eeprom?.props.size) ?? 0,
    bootWords,
    source: 'avrdude.conf',
  };
}

/** Where avrdude installs its configuration on Debian, other Linux and macOS. */
export const AVRDUDE_CONF_PATHS = ['/etc/avrdude.conf', '/usr/local/etc/avrdude.conf', '/opt/homebrew/etc/avrdude.conf', '/usr/share/arduino/hardware/tools/avr/etc/avrdude.conf'];

const cache = new Map<string, TargetPart[]>();

/**
 * The parts of an installed avrdude.conf: the given path, else $STAGEBOOT_AVRDUDE_CONF, else
 * the first of AVRDUDE_CONF_PATHS that exists. Parsed once per path. An empty list when no
 * file is installed (avrdude is optional for the built-in parts).
 */
export function loadAvrdudeParts(path?: string): TargetPart[] {
  const candidates = path ? [path] : process.env.STAGEBOOT_AVRDUDE_CONF ? [process.env.STAGEBOOT_AVRDUDE_CONF] : AVRDUDE_CONF_PATHS;
  for (const file of candidates) {
    const hit = cache.get(file);
    if (hit) return hit;
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (err) {
      if (path) throw new TargetError(`cannot read ${file}: ${(err as Error).message}`, 'avrdude-conf', { file });
      continue;
    }
    const parts = parseAvrdudeConf(text, file).flatMap((p) => confPartToTarget(p) ?? []);
    cache.set(file, parts);
    return parts;
  }
  return [];
}
