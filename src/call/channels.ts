import {
  admit,
  admitCps,
  release as releaseCounts,
  NO_CHANNELS,
  type ChannelCounts,
  type Direction,
  type LimitedTrunk,
  type Refusal,
  type TokenBucket,
} from "../domain/index.ts";

/** A trunk that can be counted: the domain's LimitedTrunk plus its id. */
export interface CountedTrunk extends LimitedTrunk {
  readonly id: string;
}

/** A held channel; release() gives it back and is harmless when called again. */
export interface ChannelHold {
  readonly trunkId: string;
  readonly direction: Direction;
  release(): void;
}

/** The outcome of taking a channel: a hold to release on every way the call ends, or a refusal. */
export type TakeResult =
  | { readonly kind: "admit"; readonly hold: ChannelHold; readonly reason: string }
  | { readonly kind: "refuse"; readonly refusal: Refusal };

/**
 * Channel counts and CPS buckets per trunk, held in this process. Decisions are the domain's
 * (admit, release, admitCps); this table only stores the counts those decisions return, so the
 * same table could later live in Redis for a cluster.
 */
export class ChannelTable {
  private readonly counts = new Map<string, ChannelCounts>();
  private readonly buckets = new Map<string, TokenBucket>();

  /** Calls in progress on a trunk, per direction. */
  use(trunkId: string): ChannelCounts {
    return this.counts.get(trunkId) ?? NO_CHANNELS;
  }

  /** Every trunk's counts, for carrier-skipping in route planning. */
  snapshot(): ReadonlyMap<string, ChannelCounts> {
    return new Map(this.counts);
  }

  /** Takes one channel in `direction` when the trunk's limits allow it. */
  take(trunk: CountedTrunk, direction: Direction): TakeResult {
    const decision = admit(trunk, direction, this.use(trunk.id));
    if (decision.kind === "refuse") return decision;
    this.counts.set(trunk.id, decision.counts);
    const hold = new Hold(this, trunk.id, direction);
    return { kind: "admit", hold, reason: decision.reason };
  }

  /** Gives one channel back; Hold makes sure it happens once. */
  giveBack(trunkId: string, direction: Direction): void {
    const next = releaseCounts(this.use(trunkId), direction);
    if (next.inbound === 0 && next.outbound === 0) this.counts.delete(trunkId);
    else this.counts.set(trunkId, next);
  }

  /** Takes one call-per-second token at monotonic time `now` (ms). */
  cps(trunk: CountedTrunk, now: number): { readonly kind: "admit"; readonly reason: string } | { readonly kind: "refuse"; readonly refusal: Refusal } {
    const decision = admitCps(trunk, this.buckets.get(trunk.id), now);
    this.buckets.set(trunk.id, decision.bucket);
    return decision.kind === "admit" ? { kind: "admit", reason: decision.reason } : { kind: "refuse", refusal: decision.refusal };
  }
}

// A class rather than an object literal with a release closure: every call holds one or two for
// its whole life, and a prototype method costs nothing per instance.
class Hold implements ChannelHold {
  private held = true;

  constructor(
    private readonly table: ChannelTable,
    readonly trunkId: string,
    readonly direction: Direction,
  ) {}

  release(): void {
    // The one guard that makes every ending path safe to call release() again.
    if (!this.held) return;
    this.held = false;
    this.table.giveBack(this.trunkId, this.direction);
  }
}
