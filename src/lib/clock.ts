/** A scheduled callback that can be cancelled; cancelling twice is harmless. */
export interface Timer {
  cancel(): void;
}

/**
 * Time as a dependency: transactions, health checks and rate limiters take a Clock so that
 * tests can drive RFC timers exactly with a FakeClock instead of waiting for them.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (not wall time). */
  now(): number;
  /** Wall-clock time in epoch milliseconds, for records such as CDRs. */
  wallNow(): number;
  /** Runs fn once after ms milliseconds. */
  schedule(ms: number, fn: () => void): Timer;
}

class SystemTimer implements Timer {
  constructor(private readonly handle: NodeJS.Timeout) {}
  cancel(): void {
    clearTimeout(this.handle);
  }
}

/** The real clock: performance.now() and Node timers; timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  schedule(ms: number, fn: () => void): Timer {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return new SystemTimer(handle);
  },
};

interface FakeEntry {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; timers fire in due order during advance(). */
export class FakeClock implements Clock {
  private current = 0;
  private seq = 0;
  private entries: FakeEntry[] = [];

  constructor(private readonly wallStart = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  wallNow(): number {
    return this.wallStart + this.current;
  }

  schedule(ms: number, fn: () => void): Timer {
    const entry: FakeEntry = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.entries.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Moves time forward by ms, firing every timer that falls due, including ones scheduled meanwhile. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: FakeEntry | undefined;
      for (const e of this.entries) {
        if (e.cancelled || e.at > target) continue;
        if (next === undefined || e.at < next.at || (e.at === next.at && e.seq < next.seq)) next = e;
      }
      if (next === undefined) break;
      this.current = next.at;
      next.cancelled = true;
      this.entries = this.entries.filter((e) => !e.cancelled);
      next.fn();
    }
    this.current = target;
  }

  /** Number of timers still waiting to fire. */
  pending(): number {
    return this.entries.filter((e) => !e.cancelled).length;
  }
}
