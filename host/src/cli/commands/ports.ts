// `stageboot ports`: the serial ports a node could be on.
import type { Argv, CommandModule } from 'yargs';
import { note, output } from '../../ota/cli.ts';
import { listPorts } from '../../transport/ports.ts';

interface Args { json: boolean }

export const portsCommand: CommandModule<object, Args> = {
  command: 'ports',
  describe: 'List serial ports (USB adapters, Arduinos)',
  builder: (y: Argv) => y.epilog('Exit status: 0 (also when no port is found).') as unknown as Argv<Args>,
  handler: async (argv) => {
    const list = await listPorts();
    if (list.note) note(list.note);
    output(argv.json, { ports: list.ports, source: list.source }, () =>
      list.ports.length === 0
        ? 'no serial ports found'
        : list.ports.map((p) => [p.path, p.manufacturer, p.serialNumber && `serial ${p.serialNumber}`].filter(Boolean).join('  ')).join('\n'),
    );
  },
};
