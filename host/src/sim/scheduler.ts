// Board-level events in simulated cycles: things outside the chip (bytes arriving from the
// host, scheduled faults, pin changes). They survive chip resets, unlike avr8js clock events,
// which belong to one CPU instance. Few events are pending at once, so a sorted array is enough.

export interface BoardEvent {
  at: number;
  seq: number;
  fn: () => void;
}

export class Scheduler {
  private readonly events: BoardEvent[] = [];
  private seq = 0;
  /** Told about every new event, so a running loop can stop early for it. */
  onSchedule: ((at: number) => void) | null = null;

  /** Run `fn` when the board clock reaches `at` (cycles); returns a handle for cancel(). */
  schedule(at: number, fn: () => void): BoardEvent {
    const ev = { at, seq: this.seq++, fn };
    let i = this.events.length;
    while (i > 0 && this.events[i - 1].at > at) i--;
    this.events.splice(i, 0, ev);
    this.onSchedule?.(at);
    return ev;
  }

  cancel(ev: BoardEvent): void {
    const i = this.events.indexOf(ev);
    if (i >= 0) this.events.splice(i, 1);
  }

  get nextAt(): number {
    return this.events.length ? this.events[0].at : Infinity;
  }

  /** Run every event due at or before `now`, in time order. */
  runDue(now: number): void {
    while (this.events.length && this.events[0].at <= now) {
      this.events.shift()!.fn();
    }
  }
}
