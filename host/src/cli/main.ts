// The `stageboot` command line. Each command lives in its own module under commands/ and
// exports a yargs CommandModule; this file only wires them together.
import yargs from 'yargs';
import { commands } from './commands/index.ts';
import { CliError, reportError } from './errors.ts';

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const parser = yargs(argv)
    .scriptName('stageboot')
    .usage('$0 <command> [options]\n\nPower-safe firmware updates for ATmega328P nodes with an I2C EEPROM.')
    .option('json', { type: 'boolean', default: false, describe: 'Print machine-readable JSON on stdout' })
    .command(commands)
    .demandCommand(1, 'Name a command; `stageboot --help` lists them.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .exitProcess(false) // main() returns the exit code: --help must not end the process (tests run it in-process)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      // Throw rather than return: after a fail callback returns, yargs still runs the handler.
      throw new CliError(`${msg}\nRun \`stageboot --help\` for usage.`, 'usage', 2);
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    exitCode = reportError(err, argv.includes('--json'));
  }
  return exitCode || (process.exitCode as number | undefined) || 0;
}

export { CliError };
