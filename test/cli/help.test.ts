// Every command of the CLI answers --help with its usage and offers --json, and a usage error
// exits 2: what a user and a script can count on before reading any one command's docs.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../host/src/cli/main.ts';
import { commands } from '../../host/src/cli/commands/index.ts';

let out = '';
beforeEach(() => {
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((out += String(s)), true));
  // yargs prints help through console.log
  vi.spyOn(console, 'log').mockImplementation((...a) => { out += a.join(' ') + '\n'; });
  vi.spyOn(console, 'error').mockImplementation((...a) => { out += a.join(' ') + '\n'; });
});
afterEach(() => vi.restoreAllMocks());

const names = commands.map((c) => String(c.command).split(' ')[0]);
const nested = { eeprom: ['build', 'write', 'show'] } as Record<string, string[]>;
const all = names.flatMap((n) => [[n], ...(nested[n] ?? []).map((s) => [n, s])]);

describe('stageboot --help', () => {
  it('lists every command', async () => {
    expect(await main(['--help'])).toBe(0);
    for (const n of names) expect(out).toContain(`stageboot ${n}`);
  });

  it.each(all.map((a) => [a.join(' '), a] as const))('%s: --help describes it and offers --json', async (_name, args) => {
    expect(await main([...args, '--help'])).toBe(0);
    expect(out).toContain(`stageboot ${args.join(' ')}`);
    expect(out).toContain('--json');
  });

  it('exits 2 on an unknown command or option', async () => {
    expect(await main(['frobnicate'])).toBe(2);
    expect(await main(['inspect', 'x.hex', '--no-such-option'])).toBe(2);
  });
});
