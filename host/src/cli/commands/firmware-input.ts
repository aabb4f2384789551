// What `inspect` and `pack` share: loading a firmware file, choosing the target part, and
// turning format and target errors into CliErrors with stable codes.
import { FormatError } from '../../formats/errors.ts';
import { loadFirmware, type Firmware, type FirmwareKind } from '../../formats/load.ts';
import { findTarget, formatSignature, lookupTarget, TargetError, type TargetPart } from '../../targets/index.ts';
import { CliError } from '../errors.ts';

/** Exit codes of the firmware commands: 1 bad input or refused, 2 usage. */
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

export async function loadForCli(file: string, kind?: string): Promise<Firmware> {
  try {
    return await loadFirmware(file, { kind: kind as FirmwareKind | undefined });
  } catch (err) {
    if (err instanceof FormatError) {
      const details: Record<string, unknown> = { file: err.file };
      for (const k of ['line', 'column', 'fault'] as const) if (k in err) details[k] = (err as unknown as Record<string, unknown>)[k];
      throw new CliError(err.message, err.code, err.code === 'unknown-kind' ? EXIT_USAGE : EXIT_REFUSED, details);
    }
    throw err;
  }
}

export function cliErrorOf(err: TargetError, exitCode = EXIT_REFUSED): CliError {
  return new CliError(err.message, err.code, exitCode, err.details);
}

export interface ChosenTarget {
  part: TargetPart;
  /** Why this part: named with --target, taken from the file's signature, or the default. */
  from: 'option' | 'signature' | 'default';
}

export const DEFAULT_TARGET = 'm328p';

/**
 * --target if given (an unknown name is a usage error), else the part the file's signature
 * names, else the ATmega328P stageboot is built for.
 */
export function chooseTarget(option: string | undefined, fw: Firmware): ChosenTarget {
  if (option !== undefined) {
    try {
      return { part: findTarget(option), from: 'option' };
    } catch (err) {
      if (err instanceof TargetError) throw cliErrorOf(err, EXIT_USAGE);
      throw err;
    }
  }
  const bySignature = fw.signature && lookupTarget(fw.signature);
  if (bySignature) return { part: bySignature, from: 'signature' };
  if (fw.signature) {
    throw new CliError(`${fw.name} was built for an unknown chip (signature ${formatSignature(fw.signature)}); name the target with --target`, 'unknown-target', EXIT_REFUSED);
  }
  return { part: findTarget(DEFAULT_TARGET), from: 'default' };
}

/** "1.2.3" → 0x010203 (major<<16 | minor<<8 | patch, as protocol/spec.ts suggests); or a plain number. */
export function parseVersion(text: string): number {
  const dotted = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (dotted) {
    const [major, minor, patch] = [Number(dotted[1]), Number(dotted[2]), Number(dotted[3] ?? 0)];
    if (major > 0xffff || minor > 0xff || patch > 0xff) throw new CliError(`version ${text}: major must be at most 65535, minor and patch at most 255`, 'bad-version', EXIT_USAGE);
    return ((major << 16) | (minor << 8) | patch) >>> 0;
  }
  return parseU32(text, 'version');
}

export function formatVersion(v: number): string {
  return `${v >>> 16}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

export function parseU32(text: string, what: string): number {
  const t = text.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new CliError(`${what} must be a number from 0 to 0xFFFFFFFF (or major.minor.patch), not "${text}"`, `bad-${what.replace(/\s+/g, '-')}`, EXIT_USAGE);
  return n;
}

export function hex32(n: number): string {
  return '0x' + (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
