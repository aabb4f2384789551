// `sim:NAME` ports: a simulated node registered with the simulator's serialport binding
// (host/src/sim/link/binding.ts) in this same process, opened through the very code path a
// real port takes (@serialport/stream), so the CLI's commands are tested on it unchanged.
// Such a port exists only inside the process that built the node (tests, `stageboot demo`).
import { SimBinding, type SimPortBinding } from '../sim/link/binding.ts';
import { realClock, type Clock } from './clock.ts';
import { registerScheme } from './open.ts';
import { LinkError, openSerial, type SerialBinding } from './serial.ts';

/**
 * Time as the simulated node sees it: readings come from its cycle counter, so measured rates
 * are in simulated time. Timers stay on the wall clock: the simulator runs faster than real
 * time, so a timeout only ever grows longer in simulated time, never shorter.
 */
export function simClock(port: SimPortBinding): Clock {
  return { now: () => port.runner.node.seconds * 1000, setTimer: realClock.setTimer, clearTimer: realClock.clearTimer };
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
    clock: (stream) => simClock(stream.port as unknown as SimPortBinding),
  });
});
