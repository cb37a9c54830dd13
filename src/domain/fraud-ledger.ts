// One customer's fraud history, indexed for the questions the rules ask (FraudHistory), so that
// judging a call costs the same with ten recent calls or a hundred thousand. The tests' `FraudState`
// (test/support/fraud-state.ts, the tests' oracle) holds the same facts as plain lists and answers by scanning: simple, but O(history) per call,
// which a load test at 1000 calls a second turns into seconds of CPU per second. The ledger is
// mutable and owned by one caller (the call layer's engine); it does no I/O and reads no clock.
import {
  DEFAULT_BURST_RULE,
  DEFAULT_SEQUENTIAL_RULE,
  rollBaseline,
  sequentialStem,
  type Baseline,
  type DestinationClass,
  type FraudHistory,
  type FraudPolicy,
  type Suspension,
} from "./fraud.ts";
import { setBounded } from "../lib/index.ts";
import type { E164 } from "./types.ts";

/** Most call starts remembered per customer; far above what any rule needs (10 numbers, limits per minute). */
const MAX_STARTS = 200_000;
/** Most number ranges (stems) remembered per customer, least recently dialled dropped first. */
const MAX_RANGES = 10_000;
/** Most numbers remembered per range; stale ones go first, then the least recently dialled. */
const MAX_NUMBERS_PER_RANGE = 1_000;

/** Times in nondecreasing order, oldest dropped from the front; counts after a time by binary search. */
class TimeQueue {
  private times: number[] = [];
  private head = 0;

  push(at: number): void {
    this.times.push(at);
    if (this.times.length - this.head > MAX_STARTS) this.head++;
  }

  /** Drops times at or before `before`. */
  prune(before: number): void {
    while (this.head < this.times.length && (this.times[this.head] ?? 0) <= before) this.head++;
    // Compact once the dead prefix is most of the array, so memory follows the live part.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  /** How many times are strictly after `after`. */
  countAfter(after: number): number {
    let lo = this.head;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.times[mid] ?? 0) <= after) lo = mid + 1;
      else hi = mid;
    }
    return this.times.length - lo;
  }
}

interface LedgerCall {
  readonly destinationClass: DestinationClass;
  readonly ratePerMinute: number;
  readonly startedAt: number;
}

/** A customer's fraud history: calls in progress, recent starts, dialled ranges, baseline, suspension. */
export class FraudLedger implements FraudHistory {
  suspended: Suspension | undefined;
  baseline: Baseline | undefined;
  private readonly active = new Map<string, LedgerCall>();
  private readonly activeByClass = new Map<DestinationClass, number>();
  // Running cost = sum(rate * (now - start)) / 60000 = (now * sum(rate) - sum(rate * start)) / 60000.
  private rateSum = 0;
  private rateStartSum = 0;
  private readonly starts = new TimeQueue();
  private readonly startsByClass = new Map<DestinationClass, TimeQueue>();
  // Sequential dialing: per stem (and number length), the last time each number was dialled, in
  // dial order (re-dialling moves a number to the end), so stale numbers sit at the front.
  private readonly ranges = new Map<string, Map<E164, number>>();

  constructor(suspended?: Suspension) {
    this.suspended = suspended;
  }

  activeCount(cls: DestinationClass | undefined): number {
    return cls === undefined ? this.active.size : (this.activeByClass.get(cls) ?? 0);
  }

  startedAfter(after: number, cls: DestinationClass | undefined): number {
    const q = cls === undefined ? this.starts : this.startsByClass.get(cls);
    return q === undefined ? 0 : q.countAfter(after);
  }

  distinctNumbers(destination: E164, stem: string, after: number): number {
    const numbers = this.ranges.get(`${destination.length}:${stem}`);
    let n = 1;
    if (numbers !== undefined) for (const [number, at] of numbers) if (at > after && number !== destination) n++;
    return n;
  }

  runningCost(now: number): number {
    return this.active.size === 0 ? 0 : Math.max(0, (now * this.rateSum - this.rateStartSum) / 60_000);
  }

  /** Records an allowed call as started; `policy` says how long starts must be remembered and how ranges are cut. */
  started(
    call: { readonly callId: string; readonly destination: E164; readonly destinationClass: DestinationClass; readonly ratePerMinute: number },
    now: number,
    policy?: Pick<FraudPolicy, "sequential" | "burst">,
  ): void {
    const burst = policy?.burst === false ? undefined : (policy?.burst ?? DEFAULT_BURST_RULE);
    const sequential = policy?.sequential === false ? undefined : (policy?.sequential ?? DEFAULT_SEQUENTIAL_RULE);
    const keepMs = Math.max(60_000, sequential?.windowMs ?? 0, burst?.windowMs ?? 0);
    this.prune(now - keepMs);

    this.ended(call.callId);
    this.active.set(call.callId, { destinationClass: call.destinationClass, ratePerMinute: call.ratePerMinute, startedAt: now });
    this.activeByClass.set(call.destinationClass, (this.activeByClass.get(call.destinationClass) ?? 0) + 1);
    this.rateSum += call.ratePerMinute;
    this.rateStartSum += call.ratePerMinute * now;

    this.starts.push(now);
    let byClass = this.startsByClass.get(call.destinationClass);
    if (byClass === undefined) this.startsByClass.set(call.destinationClass, (byClass = new TimeQueue()));
    byClass.push(now);

    if (sequential !== undefined) {
      const key = `${call.destination.length}:${sequentialStem(call.destination, sequential)}`;
      const numbers = this.ranges.get(key) ?? new Map<E164, number>();
      setBounded(this.ranges, key, numbers, MAX_RANGES);
      // Numbers dialled before the window are dropped from the front (they are in dial order).
      for (const [number, at] of numbers) {
        if (at > now - sequential.windowMs) break;
        numbers.delete(number);
      }
      setBounded(numbers, call.destination, now, MAX_NUMBERS_PER_RANGE);
    }

    if (burst !== undefined) {
      const rolled = rollBaseline(this.baseline, burst, now);
      this.baseline = { ...rolled, count: rolled.count + 1 };
    }
  }

  /** Records the end of a call, however it ended; unknown ids are ignored. */
  ended(callId: string): void {
    const call = this.active.get(callId);
    if (call === undefined) return;
    this.active.delete(callId);
    this.activeByClass.set(call.destinationClass, (this.activeByClass.get(call.destinationClass) ?? 1) - 1);
    this.rateSum -= call.ratePerMinute;
    this.rateStartSum -= call.ratePerMinute * call.startedAt;
    if (this.active.size === 0) {
      // Exact zero again, whatever rounding the sums collected.
      this.rateSum = 0;
      this.rateStartSum = 0;
    }
  }

  private prune(before: number): void {
    this.starts.prune(before);
    for (const q of this.startsByClass.values()) q.prune(before);
  }
}
