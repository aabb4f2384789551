// Every CLI command, in the order `stageboot --help` lists them.
import type { CommandModule } from 'yargs';
import { inspectCommand } from './inspect.ts';
import { packCommand } from './pack.ts';
import { eepromCommand } from './eeprom.ts';
import { simCommand } from './sim.ts';
import { portsCommand } from './ports.ts';
import { infoCommand } from './info.ts';
import { pushCommand } from './push.ts';
import { activateCommand } from './activate.ts';
import { confirmCommand } from './confirm.ts';
import { slotsCommand } from './slots.ts';
import { eraseCommand } from './erase.ts';
import { formatCommand } from './format.ts';
import { readCommand } from './read.ts';
import { rebootCommand } from './reboot.ts';
import { demoCommand } from './demo.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [portsCommand, infoCommand, pushCommand, activateCommand, confirmCommand, slotsCommand, eraseCommand, formatCommand, readCommand, rebootCommand, demoCommand, inspectCommand, packCommand, eepromCommand, simCommand];
