// `make bench`: runs every bench module in this folder and prints ONE table of every figure the
// project claims, each beside its limit or anchor with the ratio between them.
//
//   npx tsx test/bench/run.ts [--only name[,name]] [--json]
//
// Exit code 1 if a module failed or a figure missed its target; the table is printed anyway.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { meetsTarget, ratioOf, type BenchModule, type Figure } from './figure.ts';

const here = dirname(fileURLToPath(import.meta.url));
const NOT_MODULES = new Set(['run.ts', 'figure.ts']);

interface Row extends Figure {
  module: string;
  error?: string;
}

function moduleFiles(only: string[] | undefined): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts') && !NOT_MODULES.has(f))
    .filter((f) => !only || only.includes(basename(f, '.ts')))
    .sort();
}

async function runModule(file: string): Promise<Row[]> {
  const name = basename(file, '.ts');
  const started = Date.now();
  process.stderr.write(`bench: ${name} ...\n`);
  try {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as Partial<BenchModule>;
    if (mod.figures === undefined) return []; // a helper file, not a bench module
    const figs = typeof mod.figures === 'function' ? await mod.figures() : mod.figures;
    process.stderr.write(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return figs.map((f) => ({ ...f, module: name }));
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    process.stderr.write(`bench: ${name} FAILED: ${(err as Error)?.stack ?? msg}\n`);
    return [{ id: `${name}.error`, what: `${name} failed`, value: NaN, unit: '', module: name, error: msg.split('\n')[0] }];
  }
}

function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '-';
  const digits = Math.abs(v) >= 1000 ? 0 : Math.abs(v) >= 100 ? 1 : Math.abs(v) >= 1 ? 2 : 3;
  const num = v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return unit ? `${num} ${unit}` : num;
}

function status(r: Row): string {
  if (r.error) return `ERROR: ${r.error}`;
  const ok = meetsTarget(r);
  if (ok === undefined) return r.anchor ? '' : 'no anchor';
  return `${ok ? 'ok' : 'MISSED'} (${r.target!.op} ${r.target!.ratio}x)`;
}

function table(rows: Row[]): string {
  // Conditions go to numbered notes under the table so the columns stay readable.
  const notes: string[] = [];
  const noteRef = (n: string | undefined) => {
    if (!n) return '';
    let i = notes.indexOf(n);
    if (i < 0) i = notes.push(n) - 1;
    return ` [${i + 1}]`;
  };
  const head = ['figure', 'value', 'limit / anchor', 'ratio', 'claim'];
  const body = rows.map((r) => {
    const ratio = ratioOf(r);
    return [
      `${r.what}${noteRef(r.note)}`,
      fmt(r.value, r.unit),
      r.anchor ? `${fmt(r.anchor.value, r.unit)} (${r.anchor.label})` : '-',
      ratio === undefined ? '-' : `${ratio.toFixed(2)}x${r.ratio === 'anchor/value' ? '*' : ' '}`,
      status(r),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 || i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ').trimEnd();
  return [
    line(head),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...body.map(line),
    '',
    'ratio = value / anchor; * = anchor / value (durations), so above 1 means faster than the anchor.',
    ...notes.map((n, i) => `[${i + 1}] ${n}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const onlyIdx = argv.indexOf('--only');
  const only = onlyIdx >= 0 ? argv[onlyIdx + 1]?.split(',') : undefined;
  const files = moduleFiles(only);
  const unknown = only?.filter((n) => !files.includes(`${n}.ts`)) ?? [];
  if (unknown.length) {
    process.stderr.write(`bench: no module named ${unknown.join(', ')}; modules: ${moduleFiles(undefined).map((f) => basename(f, '.ts')).join(', ')}\n`);
    return 2;
  }
  const rows: Row[] = [];
  for (const f of files) rows.push(...(await runModule(f)));
  if (json) process.stdout.write(JSON.stringify(rows.map((r) => ({ ...r, ratioValue: ratioOf(r), meets: meetsTarget(r) })), null, 2) + '\n');
  else process.stdout.write(`\n${table(rows)}\n`);
  const bad = rows.some((r) => r.error || meetsTarget(r) === false);
  return bad ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
