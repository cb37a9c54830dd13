import type { Clock, Timer } from "./clock.ts";

/**
 * Items that each fall due one fixed delay after they were added, on a single clock timer.
 *
 * With one delay for all, the order of adding is the order of falling due, so an insertion-ordered
 * Map is the whole schedule: adding and removing are O(1), and only the oldest item needs a timer.
 * A held call keeps several long timers (RFC 3261 Timer L and M for 32 s, the maximum call
 * duration for hours); one Node timer each costs a Timeout, a wrapper and a closure (~250 bytes)
 * where an entry here costs a Map slot.
 */
export class DelayQueue<T> {
  private readonly due = new Map<T, number>();
  private timer: Timer | null = null;
  /** True while run() fires items: items added meanwhile are timed by run() itself. */
  private running = false;

  /** `fire` is called once for each item whose delay has passed, oldest first. */
  constructor(
    private readonly clock: Clock,
    readonly delayMs: number,
    private readonly fire: (item: T) => void,
  ) {}

  /** Schedules item delayMs from now; an item already waiting starts its delay again. */
  add(item: T): void {
    this.due.delete(item);
    this.due.set(item, this.clock.now() + this.delayMs);
    if (this.timer === null && !this.running) this.timer = this.clock.schedule(this.delayMs, () => this.run());
  }

  /** Takes item out; true when it was waiting. */
  delete(item: T): boolean {
    return this.due.delete(item);
  }

  /** True while item waits. */
  has(item: T): boolean {
    return this.due.has(item);
  }

  /** Items waiting. */
  get size(): number {
    return this.due.size;
  }

  /** Forgets every item and stops the timer; nothing fires afterwards. */
  clear(): void {
    this.due.clear();
    this.timer?.cancel();
    this.timer = null;
  }

  private run(): void {
    this.timer = null;
    this.running = true;
    const now = this.clock.now();
    try {
      for (const [item, at] of this.due) {
        if (at > now) break;
        this.due.delete(item);
        this.fire(item);
      }
    } finally {
      // Armed here, also after a throwing callback, so the items still waiting are not forgotten.
      this.running = false;
      const next = this.due.values().next();
      // A real timer may fire a fraction of a millisecond early: the wait is rounded up.
      if (next.done !== true) this.timer = this.clock.schedule(Math.max(1, Math.ceil(next.value - this.clock.now())), () => this.run());
    }
  }
}
