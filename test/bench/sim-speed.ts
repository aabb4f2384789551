// Simulator speed: simulated CPU cycles per wall-clock second, against the real chip at
// 16 MHz. The project needs at least 2x real time so that long simulated updates and fault
// campaigns stay quick. Three workloads: CPU-bound (CRC over flash with LPM), serial-bound
// (echo with the host streaming at the full 115200 wire rate), and the checked loop the board
// uses while the RWW section is blocked or a stack limit is watched.
import { SimNode } from '../../host/src/sim/node.ts';
import { buildFirmware } from '../../host/src/sim/firmware-build.ts';
import type { Figure } from './figure.ts';

export const title = 'Simulator speed (avr8js + stageboot board model)';

const REAL_HZ = 16_000_000;
const SECONDS = 3;

export interface SpeedRow {
  name: string;
  value: number;
  unit: string;
  limit: number;
  ratio: number;
}

function measure(node: SimNode, seconds = SECONDS): number {
  node.runFor(0.2); // warm up the JIT
  const t0 = performance.now();
  node.runFor(seconds);
  const wall = (performance.now() - t0) / 1000;
  return (seconds * node.clockHz) / wall;
}

function crcNode(stackLimit?: number): SimNode {
  const node = new SimNode({ fuses: { high: 0xdf }, stackLimit });
  node.loadHex(buildFirmware('bench_crc.c').hex);
  node.reset('power');
  return node;
}

function echoNode(): SimNode {
  const node = new SimNode({ fuses: { high: 0xdf } });
  node.loadHex(buildFirmware('uart_echo.c').hex);
  node.reset('power');
  let received = 0;
  node.uart.onData((d) => (received += d.length));
  // Keep the host's queue full: 11,520 bytes/s for the whole measurement.
  node.uart.write(new Uint8Array(Math.ceil(11_600 * (SECONDS + 0.3))).map((_, i) => i & 0xff));
  return node;
}

export async function benchSimSpeed(): Promise<SpeedRow[]> {
  const rows: [string, number][] = [
    ['CPU-bound (CRC-16 over flash)', measure(crcNode())],
    ['serial echo at 115200 wire rate', measure(echoNode())],
    ['checked loop (stack limit watched)', measure(crcNode(0x200))],
  ];
  return rows.map(([name, value]) => ({
    name,
    value,
    unit: 'cycles/s',
    limit: 2 * REAL_HZ,
    ratio: value / REAL_HZ,
  }));
}

export async function figures(): Promise<Figure[]> {
  const rows = await benchSimSpeed();
  return rows.map((r, i) => ({
    id: `sim-speed.${['cpu', 'serial', 'checked'][i]}`,
    what: `simulated cycles per second, ${r.name}`,
    value: Math.round(r.value),
    unit: r.unit,
    anchor: { value: REAL_HZ, label: 'ATmega328P at 16 MHz (real time)' },
    target: { op: '>=', ratio: 2 },
    note: `${SECONDS} s simulated; ratio = times real time`,
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchSimSpeed()) {
    console.log(`${r.name}: ${(r.value / 1e6).toFixed(1)} M cycles/s = ${r.ratio.toFixed(2)}x real time (need ${r.limit / REAL_HZ}x)`);
  }
}
