// Every command of the CLI answers --help with its usage and offers --json, and a usage error
// exits 2: what a user and a script can count on before reading any one command's docs.
import { describe, expect, it } from 'vitest';
import { runCli } from './run.ts';
import { commands } from '../../host/src/cli/commands/index.ts';

const names = commands.map((c) => String(c.command).split(' ')[0]);
const nested = { eeprom: ['build', 'write', 'show'] } as Record<string, string[]>;
const all = names.flatMap((n) => [[n], ...(nested[n] ?? []).map((s) => [n, s])]);

describe('stageboot --help', () => {
  it('lists every command', async () => {
    const r = await runCli('--help');
    expect(r.code).toBe(0);
    for (const n of names) expect(r.out).toContain(`stageboot ${n}`);
  });

  it.each(all.map((a) => [a.join(' '), a] as const))('%s: --help describes it and offers --json', async (_name, args) => {
    const r = await runCli(...args, '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`stageboot ${args.join(' ')}`);
    expect(r.out).toContain('--json');
  });

  it('exits 2 on an unknown command or option', async () => {
    expect((await runCli('frobnicate')).code).toBe(2);
    expect((await runCli('inspect', 'x.hex', '--no-such-option')).code).toBe(2);
  });
});
