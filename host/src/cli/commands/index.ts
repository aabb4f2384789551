// Every CLI command, in the order `stageboot --help` lists them.
import type { CommandModule } from 'yargs';
import { inspectCommand } from './inspect.ts';
import { packCommand } from './pack.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [inspectCommand, packCommand];
