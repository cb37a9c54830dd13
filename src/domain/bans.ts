import { type BanRequest, type SecurityEvent, type TrustedNetworks, NO_TRUSTED_NETWORKS, canonicalAddress } from "./security.ts";
import { setBounded } from "../lib/index.ts";

/** One banned address. `expiresAt` null is a manual ban until lifted. */
export interface BanEntry {
  readonly address: string;
  readonly rule: string;
  readonly reason: string;
  readonly origin: "auto" | "manual";
  readonly createdAt: number;
  readonly expiresAt: number | null;
  /** Which offence of this address (1 = first) the ban answers; drives the duration. */
  readonly offence: number;
}

/** Offences remembered after a ban ends, so the next ban of a repeat offender is longer. */
export interface OffenceRecord {
  readonly address: string;
  readonly count: number;
  readonly lastAt: number;
}

/** The whole ban list as plain data: what is persisted, or shared through Redis later. */
export interface BanListState {
  readonly version: 1;
  readonly bans: readonly BanEntry[];
  readonly offences: readonly OffenceRecord[];
}

/** How long bans last and how much the list may hold. */
export interface BanListOptions {
  /** First-offence duration; default 10 minutes. */
  readonly baseMs: number;
  /** Each repeat offence multiplies the duration by this; default 2. */
  readonly factor: number;
  /** Longest automatic ban; default 24 hours. */
  readonly maxMs: number;
  /** A clean record this long resets the offence count; default 7 days. */
  readonly forgetAfterMs: number;
  /** Bound on bans and remembered offences each; default 100 000. */
  readonly maxEntries: number;
  readonly trusted: TrustedNetworks;
}

/** Defaults for `BanListOptions`. */
export const DEFAULT_BAN_OPTIONS: BanListOptions = {
  baseMs: 10 * 60_000,
  factor: 2,
  maxMs: 24 * 3_600_000,
  forgetAfterMs: 7 * 24 * 3_600_000,
  maxEntries: 100_000,
  trusted: NO_TRUSTED_NETWORKS,
};

/** The answer to "is this source banned?" */
export type BanCheck =
  | { readonly kind: "clear" }
  | { readonly kind: "banned"; readonly ban: BanEntry; readonly reason: string };

/** The outcome of placing a ban: the entry, or why it was refused (trusted, not an address). */
export type BanOutcome =
  | { readonly kind: "banned"; readonly ban: BanEntry; readonly event: SecurityEvent }
  | { readonly kind: "refused"; readonly reason: string };

/** Options of a manual ban from the CLI or API. */
export interface ManualBan {
  readonly reason: string;
  /** Absent: until lifted. */
  readonly durationMs?: number;
  readonly by?: string;
}

/** Duration of the `offence`-th ban: base doubled (by `factor`) per repeat, capped at `maxMs`. */
export function banDuration(offence: number, baseMs: number, factor: number, maxMs: number): number {
  const d = baseMs * Math.pow(Math.max(1, factor), Math.max(0, offence - 1));
  return Math.min(maxMs, Number.isFinite(d) ? d : maxMs);
}

function describe(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}

/**
 * Banned source addresses. Every method takes `now` (ms); nothing runs on a timer: expired bans
 * stop counting at once and are swept by `expire(now)` when the caller likes.
 */
export class BanList {
  readonly options: BanListOptions;
  // Map order is insertion order, which makes the oldest entry the cheap one to evict.
  private readonly bans = new Map<string, BanEntry>();
  private readonly offences = new Map<string, OffenceRecord>();

  constructor(options: Partial<BanListOptions> = {}, state?: BanListState) {
    this.options = { ...DEFAULT_BAN_OPTIONS, ...options };
    if (state !== undefined) {
      for (const b of state.bans) this.bans.set(b.address, b);
      for (const o of state.offences) this.offences.set(o.address, o);
    }
  }

  /** Whether `address` is banned at `now`. */
  check(address: string, now: number): BanCheck {
    const key = canonicalAddress(address) ?? address;
    const ban = this.bans.get(key);
    if (ban === undefined) return { kind: "clear" };
    if (ban.expiresAt !== null && ban.expiresAt <= now) {
      this.bans.delete(key);
      return { kind: "clear" };
    }
    const until = ban.expiresAt === null ? "until lifted" : `for ${describe(Math.max(0, ban.expiresAt - now))} more`;
    return { kind: "banned", ban, reason: `${key} is banned ${until} (${ban.rule}: ${ban.reason})` };
  }

  /**
   * Bans a source for a rule (rate, auth failures, scanner). A repeat offender gets a longer ban;
   * a source already banned has its ban extended, never shortened. Trusted sources are refused.
   */
  ban(address: string, request: BanRequest, now: number): BanOutcome {
    const key = canonicalAddress(address);
    if (key === undefined) return { kind: "refused", reason: `${JSON.stringify(address)} is not an IP address` };
    const trustedBy = this.options.trusted.trustedBy(key);
    if (trustedBy !== undefined) return { kind: "refused", reason: `${key} is in trusted network ${trustedBy}; not banned (${request.rule}: ${request.reason})` };
    const prior = this.offences.get(key);
    const count = prior !== undefined && now - prior.lastAt < this.options.forgetAfterMs ? prior.count + 1 : 1;
    const base = request.baseMs ?? this.options.baseMs;
    const duration = banDuration(count, base, this.options.factor, Math.max(this.options.maxMs, base));
    const existing = this.bans.get(key);
    if (existing !== undefined && (existing.expiresAt === null || existing.expiresAt > now)) {
      // A ban already in force (say a manual one) is kept; only a later expiry replaces it.
      if (existing.expiresAt === null || existing.expiresAt >= now + duration) {
        return { kind: "banned", ban: existing, event: this.event(existing, "ban-kept", now) };
      }
    }
    const ban: BanEntry = {
      address: key,
      rule: request.rule,
      reason: request.reason,
      origin: "auto",
      createdAt: now,
      expiresAt: now + duration,
      offence: count,
    };
    this.put(this.offences, key, { address: key, count, lastAt: now });
    this.put(this.bans, key, ban);
    return { kind: "banned", ban, event: this.event(ban, "ban", now) };
  }

  /** A manual ban from the CLI or API; refused for trusted networks and non-addresses. */
  add(address: string, manual: ManualBan, now: number): BanOutcome {
    const key = canonicalAddress(address);
    if (key === undefined) return { kind: "refused", reason: `${JSON.stringify(address)} is not an IP address` };
    const trustedBy = this.options.trusted.trustedBy(key);
    if (trustedBy !== undefined) {
      return { kind: "refused", reason: `${key} is in trusted network ${trustedBy}; remove it from the trusted networks first` };
    }
    const ban: BanEntry = {
      address: key,
      rule: "manual",
      reason: manual.by !== undefined ? `${manual.reason} (by ${manual.by})` : manual.reason,
      origin: "manual",
      createdAt: now,
      expiresAt: manual.durationMs === undefined ? null : now + manual.durationMs,
      offence: (this.offences.get(key)?.count ?? 0) + 1,
    };
    this.put(this.bans, key, ban);
    return { kind: "banned", ban, event: this.event(ban, "ban", now) };
  }

  /**
   * Lifts a ban. `forget` also clears the offence record, so an operator's "this was a
   * mistake" does not leave the next automatic ban longer.
   */
  lift(address: string, now: number, forget = false): { readonly lifted: BanEntry | undefined; readonly event?: SecurityEvent } {
    const key = canonicalAddress(address) ?? address;
    const ban = this.bans.get(key);
    this.bans.delete(key);
    if (forget) this.offences.delete(key);
    if (ban === undefined) return { lifted: undefined };
    return { lifted: ban, event: this.event(ban, "unban", now) };
  }

  /** Bans in force at `now`, soonest expiry first (manual ones last). */
  list(now: number): BanEntry[] {
    const out: BanEntry[] = [];
    for (const b of this.bans.values()) if (b.expiresAt === null || b.expiresAt > now) out.push(b);
    return out.sort((a, b) => (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) || a.address.localeCompare(b.address));
  }

  /** Removes expired bans and stale offence records; returns the bans that ended. */
  expire(now: number): BanEntry[] {
    const ended: BanEntry[] = [];
    for (const [k, b] of this.bans) {
      if (b.expiresAt !== null && b.expiresAt <= now) {
        this.bans.delete(k);
        ended.push(b);
      }
    }
    for (const [k, o] of this.offences) if (now - o.lastAt >= this.options.forgetAfterMs) this.offences.delete(k);
    return ended;
  }

  /** Number of entries held (including expired ones not yet swept). */
  get size(): number {
    return this.bans.size;
  }

  /** The list as plain data, for persistence or sharing. */
  snapshot(): BanListState {
    return { version: 1, bans: [...this.bans.values()], offences: [...this.offences.values()] };
  }

  private put<V>(map: Map<string, V>, key: string, value: V): void {
    // A spoofed-source flood could otherwise grow the list without bound; the oldest entry goes.
    setBounded(map, key, value, this.options.maxEntries);
  }

  private event(ban: BanEntry, action: string, now: number): SecurityEvent {
    return {
      rule: ban.rule,
      action,
      reason: ban.reason,
      at: now,
      source: ban.address,
      data: {
        origin: ban.origin,
        offence: ban.offence,
        expiresAt: ban.expiresAt ?? -1,
        ...(ban.expiresAt !== null ? { durationMs: ban.expiresAt - ban.createdAt } : {}),
      },
    };
  }
}
