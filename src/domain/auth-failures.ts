import { banDuration } from "./bans.ts";
import { type BanRequest, type SecurityEvent, type TrustedNetworks, NO_TRUSTED_NETWORKS, canonicalAddress } from "./security.ts";
import { setBounded } from "../lib/index.ts";

/** N failures within a window. */
export interface FailureThreshold {
  readonly maxFailures: number;
  readonly windowMs: number;
}

/** Auth failure tracking settings. */
export interface AuthFailureOptions {
  /** Failures from one source that ban it; default 5 in 60 s. */
  readonly perSource: FailureThreshold;
  /** Failures against one account (from any source) that ban the source doing the last; default 10 in 5 min. */
  readonly perAccount: FailureThreshold;
  /** First ban of the source; repeat bans grow in the ban list. Default 30 min. */
  readonly banMs: number;
  /** Lock the account too (distributed guessing from many sources); absent: no lock. */
  readonly accountLock?: { readonly baseMs: number; readonly maxMs: number; readonly factor?: number };
  /** Bound on sources and accounts tracked, each; default 50 000. */
  readonly maxEntries: number;
  readonly trusted: TrustedNetworks;
}

/** Defaults for `AuthFailureOptions` (no account lock: a lock is a denial of service an attacker can aim). */
export const DEFAULT_AUTH_FAILURE_OPTIONS: AuthFailureOptions = {
  perSource: { maxFailures: 5, windowMs: 60_000 },
  perAccount: { maxFailures: 10, windowMs: 5 * 60_000 },
  banMs: 30 * 60_000,
  maxEntries: 50_000,
  trusted: NO_TRUSTED_NETWORKS,
};

/** One failed digest authentication. `account` is the username tried, if any. */
export interface AuthFailure {
  readonly source: string;
  readonly account?: string;
}

/** A lock on an account: the caller refuses its authentications (403) until `until`. */
export interface AccountLock {
  readonly account: string;
  readonly until: number;
  readonly lockCount: number;
  readonly reason: string;
}

/** A lock in force as the operator's list shows it: when it was set, why, and on how many failures. */
export interface AccountLockEntry {
  readonly account: string;
  readonly lockedAt: number;
  readonly until: number;
  readonly lockCount: number;
  /** Failed authentications against the account within the window that set the lock. */
  readonly failures: number;
  readonly reason: string;
}

/** What one failure leads to. `ban` goes to `BanList.ban`; `lock` is already in force here. */
export type AuthFailureVerdict =
  | { readonly kind: "counted"; readonly reason: string; readonly sourceFailures: number; readonly accountFailures: number }
  | {
      readonly kind: "ban";
      readonly reason: string;
      readonly ban?: BanRequest;
      readonly lock?: AccountLock;
      readonly events: readonly SecurityEvent[];
    };

interface LockState {
  lockCount: number;
  lockedUntil: number;
  lastLockAt: number;
  failures: number;
  reason: string;
}

function entryOf(account: string, a: LockState): AccountLockEntry {
  return { account, lockedAt: a.lastLockAt, until: a.lockedUntil, lockCount: a.lockCount, failures: a.failures, reason: a.reason };
}

function prune(times: number[], now: number, windowMs: number): number[] {
  return times.filter((t) => now - t < windowMs);
}

/**
 * Counts failed authentications per source and per account within sliding windows. Every
 * method takes `now`; the tables are bounded, the least recently failing entry evicted first.
 */
export class AuthFailureTracker {
  readonly options: AuthFailureOptions;
  private readonly sources = new Map<string, number[]>();
  private readonly accounts = new Map<string, number[]>();
  // Kept apart from the failure counts so a flood of made-up usernames cannot evict a lock.
  private readonly locks = new Map<string, LockState>();

  constructor(options: Partial<AuthFailureOptions> = {}) {
    this.options = { ...DEFAULT_AUTH_FAILURE_OPTIONS, ...options };
  }

  /** Records one failure at `now` and says whether the source is to be banned (and the account locked). */
  recordFailure(failure: AuthFailure, now: number): AuthFailureVerdict {
    const source = canonicalAddress(failure.source) ?? failure.source;
    const { perSource, perAccount } = this.options;
    const trustedBy = this.options.trusted.trustedBy(source);

    let sourceFailures = 0;
    if (trustedBy === undefined) {
      const times = prune(this.sources.get(source) ?? [], now, perSource.windowMs);
      times.push(now);
      this.touch(this.sources, source, times);
      sourceFailures = times.length;
    }

    let accountFailures = 0;
    if (failure.account !== undefined) {
      const times = prune(this.accounts.get(failure.account) ?? [], now, perAccount.windowMs);
      times.push(now);
      this.touch(this.accounts, failure.account, times);
      accountFailures = times.length;
    }

    const sourceHit = sourceFailures >= perSource.maxFailures;
    const accountHit = accountFailures >= perAccount.maxFailures;
    const who = failure.account !== undefined ? `${source} (account ${failure.account})` : source;
    if (!sourceHit && !accountHit) {
      return {
        kind: "counted",
        reason: `${who}: auth failure ${sourceFailures}/${perSource.maxFailures} from source, ${accountFailures}/${perAccount.maxFailures} on account`,
        sourceFailures,
        accountFailures,
      };
    }

    const rule = sourceHit ? "auth-failures-source" : "auth-failures-account";
    const reason = sourceHit
      ? `${source}: ${sourceFailures} failed authentications within ${perSource.windowMs / 1000} s${failure.account !== undefined ? ` (last as ${failure.account})` : ""}`
      : `account ${failure.account}: ${accountFailures} failed authentications within ${perAccount.windowMs / 1000} s (last from ${source})`;
    const events: SecurityEvent[] = [];
    let ban: BanRequest | undefined;
    if (trustedBy === undefined) {
      ban = { rule, reason, baseMs: this.options.banMs };
      this.sources.delete(source);
      const account = failure.account !== undefined ? { account: failure.account } : {};
      events.push({ rule, action: "ban", reason, at: now, source, ...account, data: { sourceFailures, accountFailures } });
    }
    let lock: AccountLock | undefined;
    const lockOpts = this.options.accountLock;
    if (accountHit && failure.account !== undefined) {
      this.accounts.delete(failure.account);
      if (lockOpts !== undefined) {
        const prior = this.locks.get(failure.account);
        // The lock count, like bans, is forgotten after a day without a lock.
        const repeat = prior !== undefined && now - prior.lastLockAt < 24 * 3_600_000 ? prior.lockCount + 1 : 1;
        const ms = banDuration(repeat, lockOpts.baseMs, lockOpts.factor ?? 2, lockOpts.maxMs);
        const lockReason = `account ${failure.account} locked for ${Math.round(ms / 1000)} s after ${accountFailures} failed authentications`;
        this.touch(this.locks, failure.account, { lockCount: repeat, lockedUntil: now + ms, lastLockAt: now, failures: accountFailures, reason: lockReason });
        lock = { account: failure.account, until: now + ms, lockCount: repeat, reason: lockReason };
        events.push({
          rule: "auth-failures-account",
          action: "lock-account",
          reason: lockReason,
          at: now,
          source,
          account: failure.account,
          data: { lockCount: repeat, until: now + ms },
        });
      }
    }
    if (ban === undefined && lock === undefined) {
      return {
        kind: "counted",
        reason: `${who}: ${reason}; ${source} is trusted (${trustedBy ?? "?"}), not banned`,
        sourceFailures,
        accountFailures,
      };
    }
    return { kind: "ban", reason, ...(ban !== undefined ? { ban } : {}), ...(lock !== undefined ? { lock } : {}), events };
  }

  /** The lock on `account` at `now`, if any: the caller answers 403 without checking the password. */
  lockOf(account: string, now: number): AccountLock | undefined {
    const a = this.locks.get(account);
    if (a === undefined || a.lockedUntil <= now) return undefined;
    return { account, until: a.lockedUntil, lockCount: a.lockCount, reason: `account ${account} locked for ${Math.ceil((a.lockedUntil - now) / 1000)} s more` };
  }

  /** The locks in force at `now`, by account name. */
  activeLocks(now: number): AccountLockEntry[] {
    const out: AccountLockEntry[] = [];
    for (const [account, a] of this.locks) if (a.lockedUntil > now) out.push(entryOf(account, a));
    return out.sort((x, y) => (x.account < y.account ? -1 : x.account > y.account ? 1 : 0));
  }

  /**
   * Lifts the lock in force on `account` (operator action): the lifted lock and its event, or
   * nothing when none is in force. The lock count is kept so the next lock is still longer.
   */
  unlock(account: string, now: number, by = "operator"): { readonly lifted: AccountLockEntry | undefined; readonly event?: SecurityEvent } {
    const a = this.locks.get(account);
    if (a === undefined || a.lockedUntil <= now) return { lifted: undefined };
    const lifted = entryOf(account, a);
    a.lockedUntil = 0;
    const reason = `account ${account} unlocked by ${by}`;
    return { lifted, event: { rule: "manual", action: "unlock-account", reason, at: now, account, data: { lockCount: a.lockCount, by } } };
  }

  /** Sources and accounts tracked, for metrics and the eviction tests. */
  stats(): { readonly sources: number; readonly accounts: number; readonly locks: number } {
    return { sources: this.sources.size, accounts: this.accounts.size, locks: this.locks.size };
  }

  private touch<V>(map: Map<string, V>, key: string, value: V): void {
    setBounded(map, key, value, this.options.maxEntries);
  }

}
