// `sim:NAME` ports: a simulated node registered with the simulator's serialport binding
// (host/src/sim/link/binding.ts) in this same process, opened through the very code path a
// real port takes (@serialport/stream), so the CLI's commands are tested on it unchanged.
// Such a port exists only inside the process that built the node (tests, `stageboot demo`).
import type { SerialPortStream } from '@serialport/stream';
import { SimBinding, type SimPortBinding } from '../sim/link/binding.ts';
import type { Clock, TimerHandle } from './clock.ts';
import { registerScheme } from './open.ts';
import { LinkError, openSerial, type SerialBinding } from './serial.ts';

interface SimTimer {
  id: number;
  /** Due time in simulated ms. */
  at: number;
  fn: () => void;
  /** Set once the timer has moved to the wall clock (the port closed). */
  real?: ReturnType<typeof setTimeout>;
}

/**
 * Time as the simulated node sees it, for readings and for timers alike. A timeout is then what
 * it would be against a real board (a 250 ms reply timeout is 250 ms of the node's time),
 * however fast or slow the simulator runs: flat out, a retransmission after a lost frame costs
 * a fraction of its wall-clock time, and on a loaded machine no timeout fires early.
 * Timers fire between simulation slices (at most one slice, 5 ms simulated, late). Once the
 * port closes, the node's clock stops: pending and new timers run on the wall clock.
 */
export class SimLinkClock implements Clock {
  private timers: SimTimer[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly port: SimPortBinding, stream: SerialPortStream) {
    const off = port.runner.onSlice(() => this.fire());
    stream.once('close', () => {
      off();
      this.closed = true;
      for (const t of this.timers) t.real = setTimeout(t.fn, 0);
      this.timers = [];
    });
  }

  now(): number {
    return this.port.runner.node.seconds * 1000;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const t: SimTimer = { id: this.nextId++, at: this.now() + Math.max(0, ms), fn };
    if (this.closed || !this.port.runner.running) {
      t.real = setTimeout(fn, ms);
      return { id: t.id, real: t.real } as TimerHandle;
    }
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1].at > t.at) i--;
    this.timers.splice(i, 0, t);
    return { id: t.id, timer: t } as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    const h = handle as { id: number; real?: ReturnType<typeof setTimeout>; timer?: SimTimer };
    if (h.real) clearTimeout(h.real);
    if (h.timer?.real) clearTimeout(h.timer.real);
    const i = this.timers.findIndex((t) => t.id === h.id);
    if (i >= 0) this.timers.splice(i, 1);
  }

  private fire(): void {
    const now = this.now();
    while (this.timers.length && this.timers[0].at <= now) this.timers.shift()!.fn();
  }
}

/** The simulated node's clock for an open sim: port. */
export function simClock(port: SimPortBinding, stream: SerialPortStream): Clock {
  return new SimLinkClock(port, stream);
}

registerScheme('sim', async (spec, o) => {
  const known = (await SimBinding.list()).map((p) => p.path);
  if (!known.includes(spec)) {
    throw new LinkError(
      `no simulated node is running as ${spec}${known.length ? ` (running: ${known.join(', ')})` : ''}: sim: ports exist only inside the process that started the node, e.g. \`stageboot demo\` or a test`,
      'no-sim-node',
    );
  }
  return openSerial(spec, {
    baudRate: o.baudRate,
    binding: SimBinding as unknown as SerialBinding,
    clock: (stream) => simClock(stream.port as unknown as SimPortBinding, stream),
  });
});
