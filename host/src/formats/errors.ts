// Errors raised while reading a firmware file. Each carries a stable `code` for scripts (the
// CLI passes it through to --json output) and names the file, so a message makes sense on
// its own when it reaches a user.

export class FormatError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'FormatError';
  }
}

/** What is wrong with an Intel HEX line; the codes are stable identifiers. */
export type HexFault =
  | 'missing-start-code' // the line does not begin with ':'
  | 'non-hex' // a character that is not 0-9, A-F or a-f
  | 'odd-length' // an odd number of hex digits, so the last byte is cut in half
  | 'byte-count' // the byte count field disagrees with the number of bytes on the line
  | 'record-length' // the byte count is wrong for the record type (04 needs 2, 01 needs 0...)
  | 'checksum'
  | 'unknown-record-type'
  | 'data-after-eof'
  | 'missing-eof'
  | 'overlap'; // two records put different bytes at the same address

export class HexError extends FormatError {
  constructor(
    file: string,
    readonly fault: HexFault,
    readonly line: number,
    detail: string,
    readonly column?: number,
  ) {
    super(`${file} line ${line}: ${detail}`, `hex-${fault}`, file);
    this.name = 'HexError';
  }
}

export type ElfFault = 'not-elf' | 'unsupported' | 'truncated' | 'no-program';

export class ElfError extends FormatError {
  constructor(
    file: string,
    readonly fault: ElfFault,
    detail: string,
  ) {
    super(`${file}: ${detail}`, `elf-${fault}`, file);
    this.name = 'ElfError';
  }
}
