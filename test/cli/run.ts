// Runs the CLI in-process through main(), as a test would run `stageboot ...`, and captures
// what it writes to stdout and stderr.
import { vi } from 'vitest';
import { main } from '../../host/src/cli/main.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
  /** The last line of stdout as JSON (with --json, the command's one result document). */
  json: () => Record<string, unknown>;
}

export async function runCli(...argv: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err += String(s); return true; });
  // yargs prints --help and usage through the console
  const l = vi.spyOn(console, 'log').mockImplementation((...a) => { out += a.join(' ') + '\n'; });
  const c = vi.spyOn(console, 'error').mockImplementation((...a) => { err += a.join(' ') + '\n'; });
  try {
    const code = await main(argv);
    return { code, out, err, json: () => JSON.parse(out.trim().split('\n').pop()!) };
  } finally {
    for (const spy of [o, e, l, c]) spy.mockRestore();
  }
}
