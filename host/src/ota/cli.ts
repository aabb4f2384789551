// What every node command of the CLI shares: the link options (--port, --baud, --timeout,
// --retries), opening the link (auto-picking the only port), running the command with an
// OtaClient, and turning transport and protocol errors into CliErrors with the README's exit
// codes: 1 refused or failed, 2 usage, 3 no reply or link error.
import type { Argv } from 'yargs';
import { CliError } from '../cli/errors.ts';
import { choosePort, openPort } from '../transport/open.ts';
import { LinkError } from '../transport/serial.ts';
import type { ByteLink } from '../transport/link.ts';
import { OtaClient } from './client.ts';
import { OtaError } from './errors.ts';

export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;
export const EXIT_LINK = 3;

export interface LinkArgs {
  port?: string;
  baud: number;
  timeout?: number;
  retries?: number;
  json: boolean;
}

export function linkOptions<T>(y: Argv<T>): Argv<T & LinkArgs> {
  return y
    .option('port', { alias: 'p', type: 'string', describe: 'Serial port (or pty, or sim:NAME in-process); default: the only port there is' })
    .option('baud', { alias: 'b', type: 'number', default: 115200, describe: 'Baud rate of the node\'s serial line' })
    .option('timeout', { type: 'number', describe: 'Milliseconds to wait for each reply (default: from the baud rate, at least 250)' })
    .option('retries', { type: 'number', describe: 'Times a request is sent again when no reply comes (default 4)' }) as unknown as Argv<T & LinkArgs>;
}

/** Human text goes to stderr with --json, so stdout stays one JSON document. */
export function say(json: boolean, text: string): void {
  (json ? process.stderr : process.stdout).write(text + '\n');
}

export function note(text: string): void {
  process.stderr.write(`stageboot: ${text}\n`);
}

export async function openLink(args: LinkArgs): Promise<ByteLink> {
  if (!Number.isInteger(args.baud) || args.baud <= 0) throw new CliError(`--baud must be a positive whole number, not ${args.baud}`, 'bad-baud', EXIT_USAGE);
  try {
    const choice = await choosePort(args.port);
    if (choice.auto) note(`using ${choice.path}, the only serial port${choice.auto.note ? ` (${choice.auto.note})` : ''}`);
    return await openPort(choice.path, { baudRate: args.baud });
  } catch (err) {
    throw toCliError(err);
  }
}

/** Opens the link, runs `fn` with a client, closes the link whatever happens. */
export async function withClient<R>(args: LinkArgs, fn: (c: OtaClient) => Promise<R>): Promise<R> {
  for (const [k, v] of [['timeout', args.timeout], ['retries', args.retries]] as const) {
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new CliError(`--${k} must be a number of at least 0, not ${v}`, `bad-${k}`, EXIT_USAGE);
  }
  const link = await openLink(args);
  const client = new OtaClient(link, { timeoutMs: args.timeout, retries: args.retries });
  try {
    return await fn(client);
  } catch (err) {
    throw toCliError(err);
  } finally {
    client.close();
    await link.close().catch(() => undefined);
  }
}

export function toCliError(err: unknown): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof OtaError) return new CliError(err.message, err.code, err.kind === 'link' ? EXIT_LINK : EXIT_REFUSED, err.details);
  if (err instanceof LinkError) return new CliError(err.message, err.code, EXIT_LINK);
  return err;
}

/** Prints `data` as one JSON line (with ok: true) or the human text. */
export function output(json: boolean, data: Record<string, unknown>, human: () => string): void {
  if (json) process.stdout.write(JSON.stringify({ ok: true, ...data }, jsonReplacer) + '\n');
  else process.stdout.write(human() + '\n');
}

function jsonReplacer(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('') : v;
}

export function parseSlot(v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xfe) throw new CliError(`slot must be a number from 0, not ${String(v)}`, 'bad-slot', EXIT_USAGE);
  return n;
}
