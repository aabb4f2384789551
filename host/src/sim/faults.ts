// Fault injection on a SimNode: power cuts at a cycle, at the N-th flash page erase/write or
// EEPROM write cycle (during it, so it tears, or just after it), brown-out resets, and
// campaigns that repeat a scenario once per cut point and report what each run ended in.

import type { SimNode } from './node.ts';
import type { FlashOpEvent } from './chip/spm.ts';

export type FaultAction = 'power-cut' | 'brownout';

export type CutPoint =
  | { cycle: number; action?: FaultAction }
  | { seconds: number; action?: FaultAction }
  /** The N-th flash page erase or write (1-based) of the run; 'during' tears it. */
  | { flashOp: number; when?: 'during' | 'after'; action?: FaultAction }
  /** The N-th page write cycle of the board's I2C EEPROM; 'during' tears it. */
  | { eepromWrite: number; when?: 'during' | 'after'; action?: FaultAction };

export interface ArmedFault {
  /** Set once the fault happened. */
  fired: boolean;
  /** Board time (seconds) at which it happened. */
  at?: number;
  /** What the fault hit, e.g. "erase of page 32". */
  hit?: string;
  disarm(): void;
}

/** Arrange for a fault to happen on `node` at `point`. */
export function armFault(node: SimNode, point: CutPoint): ArmedFault {
  const action = point.action ?? 'power-cut';
  const armed: ArmedFault = { fired: false, disarm: () => {} };
  const fire = (hit?: string) => {
    if (armed.fired) return;
    armed.fired = true;
    armed.at = node.seconds;
    armed.hit = hit;
    node.log(`fault: ${action}${hit ? ` (${hit})` : ''}`);
    if (action === 'brownout') node.reset('brownout');
    else node.powerCut();
  };
  const at = (cycle: number, hit?: string) => {
    const ev = node.scheduler.schedule(cycle, () => fire(hit));
    armed.disarm = () => node.scheduler.cancel(ev);
  };
  if ('cycle' in point) at(point.cycle);
  else if ('seconds' in point) at(Math.round(point.seconds * node.clockHz));
  else if ('flashOp' in point) {
    const off = node.onFlashOp((ev: FlashOpEvent) => {
      if (ev.n !== point.flashOp) return;
      off();
      const what = `${point.when ?? 'during'} ${ev.kind} of flash page ${ev.page}`;
      at(point.when === 'after' ? ev.doneAt + 1 : Math.floor((ev.cycle + ev.doneAt) / 2), what);
    });
    armed.disarm = off;
  } else {
    const eeprom = node.eeprom;
    if (!eeprom) throw new Error('armFault: the node has no I2C EEPROM');
    const off = eeprom.onWriteCycle((ev) => {
      if (ev.n !== point.eepromWrite) return;
      off();
      const what = `${point.when ?? 'during'} EEPROM write cycle ${ev.n} (page ${ev.page})`;
      const t = point.when === 'after' ? ev.endsAt : (ev.t + ev.endsAt) / 2;
      at(Math.ceil(t * node.clockHz) + (point.when === 'after' ? 1 : 0), what);
    });
    armed.disarm = off;
  }
  return armed;
}

export interface Scenario {
  node: SimNode;
}

export interface CampaignOptions<S extends Scenario, R> {
  /** Build a fresh scenario (node, loaded firmware, host activity already started). */
  build: () => S;
  /** Where to cut, or every flash op / EEPROM write cycle a fault-free run performs. */
  cutPoints: CutPoint[] | 'every-flash-op' | 'every-eeprom-write';
  /** Longest time (seconds) to wait for the cut point; also the fault-free reference run. */
  maxSeconds: number;
  /** Seconds without power after a cut (default 0.1). */
  offSeconds?: number;
  /** Called after power returns, before thenRun (e.g. the host retries). */
  afterPowerOn?: (scenario: S) => void;
  /** Seconds to run after power returns. */
  thenRun: number;
  /** Judge the end state: true/false, or any richer outcome. */
  check: (scenario: S) => R;
  /** For 'every-*': also cut just after each operation, not only during it. */
  alsoAfter?: boolean;
}

export interface CampaignRun<R> {
  cut: CutPoint;
  fired: boolean;
  at?: number;
  hit?: string;
  outcome: R;
}

export interface CampaignResult<R> {
  runs: CampaignRun<R>[];
  /** Runs whose outcome was false (for boolean checks). */
  failures: CampaignRun<R>[];
  /** Flash ops / EEPROM write cycles in the fault-free reference run (for 'every-*'). */
  referenceOps?: number;
}

export function runCampaign<S extends Scenario, R>(opts: CampaignOptions<S, R>): CampaignResult<R> {
  let referenceOps: number | undefined;
  let points: CutPoint[];
  if (Array.isArray(opts.cutPoints)) {
    points = opts.cutPoints;
  } else {
    const ref = opts.build();
    ref.node.runFor(opts.maxSeconds);
    const flash = opts.cutPoints === 'every-flash-op';
    referenceOps = flash ? ref.node.flashOps : (ref.node.eeprom?.writeCycles ?? 0);
    points = [];
    for (let n = 1; n <= referenceOps; n++) {
      for (const when of opts.alsoAfter ? (['during', 'after'] as const) : (['during'] as const)) {
        points.push(flash ? { flashOp: n, when } : { eepromWrite: n, when });
      }
    }
  }
  const runs = points.map((cut) => runOne(opts, cut));
  return { runs, failures: runs.filter((r) => r.outcome === false), referenceOps };
}

function runOne<S extends Scenario, R>(opts: CampaignOptions<S, R>, cut: CutPoint): CampaignRun<R> {
  const scenario = opts.build();
  const { node } = scenario;
  const armed = armFault(node, cut);
  node.runUntil(() => armed.fired, Math.round(opts.maxSeconds * node.clockHz));
  armed.disarm();
  if (armed.fired && !node.powered) {
    node.runFor(opts.offSeconds ?? 0.1);
    node.powerOn();
  }
  if (armed.fired) opts.afterPowerOn?.(scenario);
  node.runFor(opts.thenRun);
  return { cut, fired: armed.fired, at: armed.at, hit: armed.hit, outcome: opts.check(scenario) };
}
