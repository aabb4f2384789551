// `stageboot read ADDR LENGTH [-o FILE]`: raw EEPROM bytes, as a hex dump or into a file.
import { writeFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import { EXIT_USAGE, linkOptions, output, withClient, type LinkArgs } from '../../ota/cli.ts';

interface Args extends LinkArgs { addr: string; length: string; output?: string }

function num(text: string, what: string): number {
  const t = String(text).trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`${what} must be a number (decimal or 0x hex), not "${text}"`, `bad-${what}`, EXIT_USAGE);
  return n;
}

export function hexDump(addr: number, bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${(addr + i).toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${text}`);
  }
  return lines.join('\n');
}

export const readCommand: CommandModule<object, Args> = {
  command: 'read <addr> <length>',
  describe: 'Read raw bytes from the node\'s EEPROM',
  builder: (y: Argv) => linkOptions(y)
    .positional('addr', { type: 'string', demandOption: true, describe: 'EEPROM address (decimal or 0x hex)' })
    .positional('length', { type: 'string', demandOption: true, describe: 'Bytes to read' })
    .option('output', { alias: 'o', type: 'string', describe: 'Write the bytes to this file instead of a hex dump' })
    .epilog('Exit status: 0 ok, 1 refused (out of range), 2 usage, 3 no reply.') as unknown as Argv<Args>,
  handler: async (argv) => {
    const addr = num(argv.addr, 'address');
    const length = num(argv.length, 'length');
    await withClient(argv, async (c) => {
      const bytes = await c.read(addr, length);
      if (argv.output) await writeFile(argv.output, bytes);
      output(argv.json, { addr, length, ...(argv.output ? { output: argv.output } : { data: bytes }) }, () =>
        argv.output ? `wrote ${length} bytes from EEPROM 0x${addr.toString(16)} to ${argv.output}` : hexDump(addr, bytes));
    });
  },
};
