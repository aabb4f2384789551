// One error type for everything the CLI reports to a user. `code` is a stable identifier
// for scripts (it appears in --json output); `exitCode` follows the table in README.md.
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: number = 1,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function reportError(err: unknown, json: boolean): number {
  if (err instanceof CliError) {
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code: err.code, message: err.message, ...err.details } }) + '\n');
    process.stderr.write(`stageboot: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code: 'internal', message: String(e?.message ?? e) } }) + '\n');
  process.stderr.write(`stageboot: internal error: ${e?.stack ?? e}\n`);
  return 70;
}
