// Per-call SIP capture: the ladder of every message in and out of a call's legs, with times and
// addresses, kept in memory while the call is up and saved through the storage port when it ends.
//
// The transport shows every message to the recorder (it is the transport's MessageTap); the call
// layer links each leg's SIP Call-ID to our call id as the leg is created, because the B2BUA gives
// every leg its own Call-ID (topology hiding). An initial INVITE is captured before any call
// exists (its 100 Trying, a 407 challenge and the retry come before admission), so it opens an
// unclaimed ladder under its Call-ID that the call adopts when linked, or that ages out.
//
// Cost on the hot path: a message of no call is one Map lookup and no allocation; a captured one
// keeps the Buffer the transport already had (only a TCP/TLS receive is serialized first).
// Those buffers are mostly slices of Node's shared 8 KiB pool, and a kept slice pins its whole
// slab (measured: 25 KiB per held call against about 5 KiB of SIP). So a call still up after
// compactAfterMs gets its bytes copied into one buffer of its own, once per batch of new
// messages. Copying every message on capture instead held memory just as well but cost a third
// of the call rate (a 2 KiB allocation per few messages, and the garbage collection it brings).
import type { Clock, Timer } from "../lib/index.ts";
import type { Logger } from "../observability/index.ts";
import type { LadderEndpoint, SipLadderMessage, SipLadderRepository } from "../ports/index.ts";
import { serializeMessage, type Endpoint, type MessageTap, type SipMessage, type TransportProtocol } from "../sip/index.ts";

/** Settings of the recorder; every field has a default. */
export interface SipLadderOptions {
  /** Messages kept per call; later ones are counted, not kept. Default 200. */
  readonly maxMessagesPerCall?: number;
  /** Saved ladders older than this are pruned. Default 24 h. */
  readonly retentionMs?: number;
  /** How often pruning runs. Default 10 min. */
  readonly pruneIntervalMs?: number;
  /**
   * After a call ends its messages are still caught this long (the 200 to a BYE, ACK and
   * response retransmissions) before the ladder is saved. Default 4 s.
   */
  readonly lingerMs?: number;
  /** An initial INVITE no call claims (refused before admission, abandoned challenge) is dropped after this. Default 32 s (64*T1). */
  readonly unclaimedMs?: number;
  /** At most this many unclaimed ladders are held; the oldest go first. Default 10000. */
  readonly maxUnclaimed?: number;
  /** A live call's new messages are copied out of the transport's shared buffers this long after capture. Default 2 s. */
  readonly compactAfterMs?: number;
}

/** Where a captured message goes besides the ladder (a HEP collector). */
export interface CaptureSink {
  send(message: SipLadderMessage, correlationId: string | null): void;
}

/** What createSipLadderRecorder needs. */
export interface SipLadderDeps {
  readonly repository: SipLadderRepository;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sink?: CaptureSink;
  readonly options?: SipLadderOptions;
}

/** A call's ladder as the API reads it: its messages so far and how many were over the limit. */
export interface SipLadderSnapshot {
  readonly callId: string;
  /** True while the call (or its linger after the end) is still being captured. */
  readonly live: boolean;
  readonly messages: readonly SipLadderMessage[];
  /** Messages seen beyond maxMessagesPerCall and not kept. */
  readonly dropped: number;
}

/** The recorder: the transport's tap, the call layer's link/finish hooks and the API's reader. */
export interface SipLadderRecorder extends MessageTap {
  /** Links a leg's SIP Call-ID to our call id (`a`: the caller's leg, `b`: an attempt). O(1). */
  link(sipCallId: string, callId: string, leg: "a" | "b"): void;
  /** The call ended: keep catching its last messages for lingerMs, then save the ladder. */
  finish(callId: string): void;
  /** A call's ladder: from memory while live, else from storage; undefined when none was kept. */
  read(callId: string): Promise<SipLadderSnapshot | undefined>;
  /** Ladders held in memory (live, lingering and unclaimed), for tests and metrics. */
  size(): { readonly calls: number; readonly unclaimed: number };
  /** Saves every ladder still in memory now and stops pruning. */
  stop(): Promise<void>;
}

/** A captured message; `raw` is replaced by a view of the ladder's own buffer when compacted. */
type Captured = { -readonly [K in keyof SipLadderMessage]: SipLadderMessage[K] };

class Ladder {
  callId: string | null = null;
  readonly messages: Captured[] = [];
  readonly sipCallIds: string[] = [];
  dropped = 0;
  /** Monotonic time after which the ended call's ladder is saved; 0 while the call is up. */
  saveAt = 0;
  /** Queued for compaction (it has messages still in the transport's buffers). */
  dirty = false;
  constructor(readonly createdAt: number) {}

  /** Copies every message's bytes into one buffer of this ladder's own, so no pool slab is pinned. */
  compact(): void {
    let total = 0;
    for (const m of this.messages) total += m.raw.byteLength;
    const own = Buffer.allocUnsafeSlow(total);
    let at = 0;
    for (const m of this.messages) {
      own.set(m.raw, at);
      m.raw = own.subarray(at, at + m.raw.byteLength);
      at += m.raw.byteLength;
    }
  }
}

interface LegEntry {
  ladder: Ladder;
  leg: "a" | "b";
}

const DEFAULTS = {
  maxMessagesPerCall: 200,
  retentionMs: 24 * 3600 * 1000,
  pruneIntervalMs: 10 * 60 * 1000,
  lingerMs: 4000,
  unclaimedMs: 32_000,
  maxUnclaimed: 10_000,
  compactAfterMs: 2000,
} as const;

/** Creates the recorder and starts its periodic pruning of saved ladders past the retention. */
export function createSipLadderRecorder(deps: SipLadderDeps): SipLadderRecorder {
  const { clock, repository, sink } = deps;
  const log = deps.logger.child({ component: "sip-ladder" });
  const o = { ...DEFAULTS, ...deps.options };
  const bySip = new Map<string, LegEntry>();
  const byCall = new Map<string, Ladder>();
  // Insertion order is age order: eviction looks at the head only.
  const unclaimed = new Map<string, Ladder>();
  const saving = new Set<Promise<void>>();
  // Ended calls in the order they ended (the linger is the same for all): one timer serves them all.
  let lingering: Ladder[] = [];
  let lingerTimer: Timer | null = null;
  // Live ladders with messages not yet compacted, oldest first, and the one timer that serves them.
  let dirty: Ladder[] = [];
  let compactTimer: Timer | null = null;
  const compactDirty = (): void => {
    compactTimer = null;
    const batch = dirty;
    dirty = [];
    for (const ladder of batch) {
      ladder.dirty = false;
      // A ladder being saved soon is not worth copying; one saved already is gone.
      if (ladder.saveAt === 0 && ladder.callId !== null && byCall.get(ladder.callId) === ladder) ladder.compact();
    }
  };
  // Wall time with the monotonic clock's resolution (microseconds), for ladders and PCAP stamps.
  const wallBase = clock.wallNow() - clock.now();
  let stopped = false;

  const evictUnclaimed = (now: number): void => {
    for (const [sipCallId, ladder] of unclaimed) {
      if (unclaimed.size <= o.maxUnclaimed && now - ladder.createdAt < o.unclaimedMs) break;
      unclaimed.delete(sipCallId);
      if (ladder.callId === null) bySip.delete(sipCallId);
    }
  };

  const save = (ladder: Ladder): void => {
    const callId = ladder.callId;
    if (callId === null || byCall.get(callId) !== ladder) return;
    byCall.delete(callId);
    for (const key of ladder.sipCallIds) {
      if (bySip.get(key)?.ladder === ladder) bySip.delete(key);
    }
    if (ladder.messages.length === 0) return;
    const p = repository.save(callId, clock.wallNow(), ladder.messages).catch((error: unknown) => log.error({ err: error, cdr: callId }, "SIP ladder save failed"));
    saving.add(p);
    void p.finally(() => saving.delete(p));
  };

  // Ladders due within this window are saved together: one batch, one hand-over to the writer
  // thread, one commit (measured: 83 against 216 us of process CPU per ladder at 400 calls/s,
  // batches of 200 twice a second against batches of 4 a hundred times).
  const SAVE_BATCH_MS = 500;
  const saveLingering = (): void => {
    lingerTimer = null;
    const now = clock.now();
    let i = 0;
    while (i < lingering.length && lingering[i]!.saveAt <= now + SAVE_BATCH_MS) save(lingering[i++]!);
    lingering = lingering.slice(i);
    const next = lingering[0];
    if (next !== undefined) lingerTimer = clock.schedule(Math.max(SAVE_BATCH_MS, next.saveAt - now), saveLingering);
  };

  const prune = (): void => {
    if (stopped) return;
    repository
      .prune(clock.wallNow() - o.retentionMs)
      .then((n) => {
        if (n > 0) log.info({ pruned: n, retentionMs: o.retentionMs }, "SIP ladders past retention pruned");
      })
      .catch((error: unknown) => log.error({ err: error }, "SIP ladder pruning failed"));
    pruneTimer = clock.schedule(o.pruneIntervalMs, prune);
  };
  let pruneTimer: Timer = clock.schedule(0, prune);

  return {
    observe(direction: "in" | "out", message: SipMessage, data: Buffer | null, protocol: TransportProtocol, local: Endpoint, remote: Endpoint): void {
      let entry = bySip.get(message.callId);
      if (entry === undefined) {
        // Only a new call opens a ladder: an initial INVITE received (no To tag yet).
        if (direction !== "in" || message.kind !== "request" || message.method !== "INVITE" || message.to.params["tag"] !== undefined) return;
        const now = clock.now();
        const ladder = new Ladder(now);
        ladder.sipCallIds.push(message.callId);
        entry = { ladder, leg: "a" };
        bySip.set(message.callId, entry);
        unclaimed.set(message.callId, ladder);
        evictUnclaimed(now);
      }
      const ladder = entry.ladder;
      if (ladder.messages.length >= o.maxMessagesPerCall) {
        ladder.dropped++;
        return;
      }
      const captured: Captured = {
        at: wallBase + clock.now(),
        direction,
        leg: entry.leg,
        protocol,
        local: local as LadderEndpoint,
        remote: remote as LadderEndpoint,
        raw: data ?? serializeMessage(message),
      };
      ladder.messages.push(captured);
      if (!ladder.dirty) {
        ladder.dirty = true;
        dirty.push(ladder);
        compactTimer ??= clock.schedule(o.compactAfterMs, compactDirty);
      }
      sink?.send(captured, ladder.callId);
    },

    link(sipCallId, callId, leg) {
      const existing = bySip.get(sipCallId);
      let ladder = byCall.get(callId);
      if (ladder === undefined) {
        // The A leg: adopt what its INVITE captured before the call existed.
        ladder = existing !== undefined && existing.ladder.callId === null ? existing.ladder : new Ladder(clock.now());
        ladder.callId = callId;
        byCall.set(callId, ladder);
      } else if (existing !== undefined && existing.ladder !== ladder && existing.ladder.callId === null) {
        // A second unclaimed capture for the same call (should not happen): keep its messages, in time order.
        ladder.messages.push(...existing.ladder.messages);
        ladder.messages.sort((x, y) => x.at - y.at);
      }
      unclaimed.delete(sipCallId);
      if (existing !== undefined) {
        existing.ladder = ladder;
        existing.leg = leg;
        if (!ladder.sipCallIds.includes(sipCallId)) ladder.sipCallIds.push(sipCallId);
      } else {
        bySip.set(sipCallId, { ladder, leg });
        ladder.sipCallIds.push(sipCallId);
      }
    },

    finish(callId) {
      const ladder = byCall.get(callId);
      if (ladder === undefined || ladder.saveAt !== 0) return;
      if (stopped) {
        save(ladder);
        return;
      }
      ladder.saveAt = clock.now() + o.lingerMs;
      lingering.push(ladder);
      lingerTimer ??= clock.schedule(o.lingerMs, saveLingering);
    },

    async read(callId) {
      const ladder = byCall.get(callId);
      if (ladder !== undefined) return { callId, live: true, messages: [...ladder.messages], dropped: ladder.dropped };
      const messages = await repository.get(callId);
      return messages === undefined ? undefined : { callId, live: false, messages, dropped: 0 };
    },

    size() {
      return { calls: byCall.size, unclaimed: unclaimed.size };
    },

    async stop() {
      stopped = true;
      pruneTimer.cancel();
      lingerTimer?.cancel();
      lingerTimer = null;
      lingering = [];
      compactTimer?.cancel();
      compactTimer = null;
      dirty = [];
      for (const ladder of [...byCall.values()]) save(ladder);
      bySip.clear();
      unclaimed.clear();
      await Promise.all(saving);
    },
  };
}
