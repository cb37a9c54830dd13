import { type TokenBucket, admitCps } from "./admission.ts";
import { type BanRequest, type SecurityEvent, type TrustedNetworks, NO_TRUSTED_NETWORKS, canonicalAddress } from "./security.ts";

/** Which budget a request draws from. REGISTER and INVITE floods are the common attacks, so each has its own. */
export type RequestClass = "register" | "invite" | "other";

/** A token bucket's shape: sustained requests per second and the burst allowed above it. */
export interface BucketLimit {
  readonly ratePerSecond: number;
  readonly burst: number;
}

/** Per-source limits. */
export interface SourceLimitsOptions {
  readonly register: BucketLimit;
  readonly invite: BucketLimit;
  readonly other: BucketLimit;
  /** First ban for going over a budget; repeat offences grow in the ban list. Default 10 min. */
  readonly banMs: number;
  /** Most sources tracked at once; the least recently seen is evicted. Default 50 000. */
  readonly maxSources: number;
  /** Concurrent TCP/TLS connections one source may hold. Default 20. */
  readonly maxConnectionsPerSource: number;
  readonly trusted: TrustedNetworks;
}

// Sized for a busy PBX behind one NAT address: 100 phones re-registering every 60 s are under
// 2 REGISTER/s, and a PBX with a 30-channel trunk rarely starts 10 calls in a second.
/** Defaults for `SourceLimitsOptions`. */
export const DEFAULT_SOURCE_LIMITS: SourceLimitsOptions = {
  register: { ratePerSecond: 5, burst: 20 },
  invite: { ratePerSecond: 10, burst: 30 },
  other: { ratePerSecond: 30, burst: 100 },
  banMs: 10 * 60_000,
  maxSources: 50_000,
  maxConnectionsPerSource: 20,
  trusted: NO_TRUSTED_NETWORKS,
};

/** The class of a request method (case-sensitive per RFC 3261, as the parser gives it). */
export function requestClassOf(method: string): RequestClass {
  return method === "REGISTER" ? "register" : method === "INVITE" ? "invite" : "other";
}

/** A rate decision. On `drop-and-ban`, the caller drops the request and places `ban` in the ban list. */
export type SourceDecision =
  | { readonly kind: "allow"; readonly reason: string }
  | { readonly kind: "drop-and-ban"; readonly reason: string; readonly ban: BanRequest; readonly event: SecurityEvent };

/** A connection decision. On `refuse`, the caller closes the new connection. */
export type ConnectionDecision =
  | { readonly kind: "allow"; readonly reason: string; readonly count: number }
  | { readonly kind: "refuse"; readonly reason: string; readonly event: SecurityEvent };

interface SourceEntry {
  register?: TokenBucket;
  invite?: TokenBucket;
  other?: TokenBucket;
}

/**
 * Token buckets per source address, per request class. The table is bounded: when full, the
 * source seen least recently is evicted. Eviction only ever forgives (the evicted source
 * restarts with a full bucket), so a flood from spoofed addresses cannot make us refuse a
 * legitimate source; it can only cost the flooder's own buckets their history.
 */
export class SourceLimiter {
  readonly options: SourceLimitsOptions;
  private readonly sources = new Map<string, SourceEntry>();
  private readonly connections = new Map<string, number>();
  private evictions = 0;

  constructor(options: Partial<SourceLimitsOptions> = {}) {
    this.options = { ...DEFAULT_SOURCE_LIMITS, ...options };
  }

  /** Charges one request of `method` from `source` at `now` against its budget. */
  check(source: string, method: string, now: number): SourceDecision {
    const key = canonicalAddress(source) ?? source;
    const trustedBy = this.options.trusted.trustedBy(key);
    if (trustedBy !== undefined) return { kind: "allow", reason: `${key} is trusted (${trustedBy})` };
    const cls = requestClassOf(method);
    const limit = this.options[cls];
    let entry = this.sources.get(key);
    if (entry === undefined) {
      entry = {};
      if (this.sources.size >= this.options.maxSources) this.evictOldest();
    } else {
      this.sources.delete(key);
    }
    this.sources.set(key, entry);
    const d = admitCps({ name: key, limits: { cps: limit.ratePerSecond, cpsBurst: limit.burst } }, entry[cls], now);
    entry[cls] = d.bucket;
    if (d.kind === "admit") return { kind: "allow", reason: `${key}: ${method} within ${limit.ratePerSecond}/s (burst ${limit.burst})` };
    const reason = `${key}: ${cls} requests over ${limit.ratePerSecond}/s (burst ${limit.burst}); ${method} dropped`;
    const rule = `rate-${cls}`;
    return {
      kind: "drop-and-ban",
      reason,
      ban: { rule, reason, baseMs: this.options.banMs },
      event: {
        rule,
        action: "drop-and-ban",
        reason,
        at: now,
        source: key,
        data: { method, ratePerSecond: limit.ratePerSecond, burst: limit.burst },
      },
    };
  }

  /** Forgets a source's buckets (after a ban, its history is moot). */
  forget(source: string): void {
    this.sources.delete(canonicalAddress(source) ?? source);
  }

  /** Counts a new TCP/TLS connection from `source`; refuses over the per-source cap. */
  acquireConnection(source: string, now: number): ConnectionDecision {
    const key = canonicalAddress(source) ?? source;
    const count = this.connections.get(key) ?? 0;
    const trustedBy = this.options.trusted.trustedBy(key);
    if (trustedBy === undefined && count >= this.options.maxConnectionsPerSource) {
      const reason = `${key}: ${count} of ${this.options.maxConnectionsPerSource} connections already open; new connection refused`;
      return {
        kind: "refuse",
        reason,
        event: { rule: "connections-per-source", action: "refuse", reason, at: now, source: key, data: { count, max: this.options.maxConnectionsPerSource } },
      };
    }
    this.connections.set(key, count + 1);
    return { kind: "allow", reason: `${key}: connection ${count + 1}${trustedBy !== undefined ? ` (trusted ${trustedBy})` : ""}`, count: count + 1 };
  }

  /** Uncounts a closed connection; a double release never goes below zero. */
  releaseConnection(source: string): number {
    const key = canonicalAddress(source) ?? source;
    const count = (this.connections.get(key) ?? 0) - 1;
    // Zero entries are removed, so the table holds only sources with open connections.
    if (count <= 0) this.connections.delete(key);
    else this.connections.set(key, count);
    return Math.max(0, count);
  }

  /** Open connections counted for `source`. */
  connectionsOf(source: string): number {
    return this.connections.get(canonicalAddress(source) ?? source) ?? 0;
  }

  /** Table sizes and evictions, for metrics. */
  stats(): { readonly sources: number; readonly connectionSources: number; readonly evictions: number } {
    return { sources: this.sources.size, connectionSources: this.connections.size, evictions: this.evictions };
  }

  private evictOldest(): void {
    const oldest = this.sources.keys().next();
    if (oldest.done !== true) {
      this.sources.delete(oldest.value);
      this.evictions++;
    }
  }
}
