// One security guard per server: the per-request screen the SIP stack runs before its
// transaction layer, the per-source connection gate of the stream transports, failed-digest
// counting (registrar and call layer) and the ban list the API and CLI manage. The decisions
// are the domain's (screen.ts, bans.ts, source-limits.ts, auth-failures.ts); this file holds
// their state, feeds them facts and the clock, and logs what they decide.
import type { Clock, Timer } from "../lib/index.ts";
import type { Logger } from "../observability/index.ts";
import { securityEvent } from "../observability/index.ts";
import {
  AuthFailureTracker,
  BanList,
  DEFAULT_MESSAGE_LIMITS,
  DEFAULT_SCANNER_USER_AGENTS,
  SourceLimiter,
  canonicalAddress,
  createScannerDetector,
  createTrustedNetworks,
  screenRequest,
  type AccountLockEntry,
  type BanEntry,
  type Policy,
  type RequestScreen,
  type SecurityEvent as DomainSecurityEvent,
  type TrustedNetworks,
} from "../domain/index.ts";
import type { BanRepository } from "../ports/index.ts";
import type { ConnectionGate, Endpoint, InboundContext, InboundScreen, ScreenOutcome, SipRequest } from "../sip/index.ts";

/** The `security:` config section as the guard needs it (config's SecurityConfig has this shape). */
export interface SecuritySettings {
  readonly trustedNetworks: readonly string[];
  readonly rate: {
    readonly register: { readonly perSecond: number; readonly burst: number };
    readonly invite: { readonly perSecond: number; readonly burst: number };
    readonly other: { readonly perSecond: number; readonly burst: number };
  };
  readonly banSeconds: number;
  readonly maxBanSeconds: number;
  readonly maxConnectionsPerSource: number;
  readonly scanners: { readonly patterns?: readonly string[] | undefined };
  readonly limits: { readonly maxHeaders: number; readonly maxHeaderLength: number; readonly maxVias: number; readonly maxBody: number };
  readonly auth: {
    readonly maxFailures: number;
    readonly windowSeconds: number;
    /** Absent: the tracker's default (10 in 5 min). */
    readonly perAccount?: { readonly maxFailures: number; readonly windowSeconds: number };
    /** Absent or disabled: accounts are never locked (a lock is a denial of service an attacker can aim). */
    readonly accountLock?: { readonly enabled: boolean; readonly baseSeconds: number; readonly maxSeconds: number };
  };
}

export interface SecurityGuardDeps {
  readonly settings: SecuritySettings;
  /** Current provisioning: every carrier's source addresses are trusted. */
  readonly policy: () => Policy | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often expired bans are removed, ms. Default 60000; 0 disables the timer. */
  readonly housekeepingMs?: number;
  /** Where bans are kept across restarts: every ban placed or lifted is written through. */
  readonly store?: BanRepository;
  /** Bans read from the store at start (still in force). */
  readonly initialBans?: readonly BanEntry[];
}

/** The outcome of a manual ban or lift, for the API and CLI. */
export type BanChange = { readonly ok: true; readonly ban?: BanEntry } | { readonly ok: false; readonly reason: string };

/** The outcome of lifting an account lock, for the API and CLI. */
export type AccountUnlock = { readonly ok: true; readonly lock: AccountLockEntry } | { readonly ok: false; readonly reason: string };

export interface SecurityGuard {
  /** Given to createSipStack as `screen`. */
  readonly screen: InboundScreen;
  /** Given to createSipStack as `connectionGate`. */
  readonly connectionGate: ConnectionGate;
  /** Given to createSipStack as `datagramGate`: a banned source's datagrams are dropped before parsing. */
  readonly datagramGate: (remote: Endpoint) => boolean;
  /** A failed digest authentication (the 403 paths of registrar and call layer). */
  recordAuthFailure(source: string, account: string | undefined): void;
  /** The lock on a digest account, if one is in force: its authentications are refused (403) unchecked. */
  accountLock(account: string): { readonly until: number; readonly reason: string } | undefined;
  /** The account locks in force (security.auth.accountLock), for the API and CLI. */
  listAccountLocks(): AccountLockEntry[];
  /** Lifts the lock in force on a digest account (operator action); not ok when there is none. */
  unlockAccount(account: string, by?: string): AccountUnlock;
  listBans(): BanEntry[];
  addBan(address: string, options: { readonly seconds?: number; readonly reason?: string; readonly by?: string }): BanChange;
  liftBan(address: string): BanChange;
  /** Screened-request counts by rule, bans in force, failed digests and bans placed by rule, since start (for /metrics). */
  stats(): { readonly screened: Readonly<Record<string, number>>; readonly bans: number; readonly authFailures: number; readonly bansPlaced: Readonly<Record<string, number>> };
  stop(): void;
}

const SCREEN_RESULT_PASS: ScreenOutcome = { kind: "pass" };

/** Shape facts of a parsed request for the message-limit rules. */
function shapeOf(request: SipRequest): { headerCount: number; longestHeaderLine: number; viaCount: number; bodyBytes: number } {
  let longest = 0;
  for (const h of request.headers) longest = Math.max(longest, h.name.length + 2 + h.value.length);
  // Typed headers (Via, From, To, ...) are parsed out of `headers`; count them as one each.
  const typed = 5 + request.via.length + request.contact.length + request.route.length + request.recordRoute.length;
  return { headerCount: request.headers.length + typed, longestHeaderLine: longest, viaCount: request.via.length, bodyBytes: request.body.length };
}

function userAgentOf(request: SipRequest): string | undefined {
  for (const h of request.headers) if (h.name.toLowerCase() === "user-agent") return h.value;
  return undefined;
}

function logDomainEvent(logger: Logger, event: DomainSecurityEvent | undefined): void {
  if (event === undefined) return;
  securityEvent(logger, {
    source: event.source ?? "",
    reason: event.rule,
    action: event.action,
    detail: event.reason,
    ...(event.account !== undefined ? { account: event.account } : {}),
  });
}

/** Builds the guard; throws when a configured trusted network is not a CIDR (the schema checked it). */
export function createSecurityGuard(deps: SecurityGuardDeps): SecurityGuard {
  const { settings, clock, logger } = deps;
  const configured = createTrustedNetworks(settings.trustedNetworks);
  if (!configured.ok) throw new Error(`security.trustedNetworks: ${configured.error.join("; ")}`);
  const trustedCidrs = configured.value;
  // Carriers, and customers known by their address alone, are trusted through the current policy
  // (so one added by `apply` is trusted at once): their traffic is bounded by the trunk's own CPS
  // and channel limits, which answer 503 instead of banning a paying customer's PBX.
  const trusted: TrustedNetworks = {
    trustedBy(address) {
      const own = trustedCidrs.trustedBy(address);
      if (own !== undefined) return own;
      const policy = deps.policy();
      if (policy === undefined) return undefined;
      const decision = policy.identifier.identify({ sourceAddress: address });
      if (decision.kind === "carrier") return `carrier ${decision.carrier.name}`;
      if (decision.kind === "customer" && decision.matchedBy === "source-ip") return `customer ${decision.customer.name}`;
      return undefined;
    },
  };
  const banMs = settings.banSeconds * 1000;
  // A stored ban of an address trusted since (a network added to the config) is not restored.
  const restored = (deps.initialBans ?? []).filter((b) => trustedCidrs.trustedBy(b.address) === undefined);
  const bans = new BanList(
    { baseMs: banMs, maxMs: Math.max(banMs, settings.maxBanSeconds * 1000), trusted },
    // The offence count comes back too, so a source banned before the restart gets a longer ban next.
    { version: 1, bans: restored, offences: restored.map((b) => ({ address: b.address, count: b.offence, lastAt: b.createdAt })) },
  );
  const storeFailed = (error: unknown): void => logger.error({ err: error }, "ban store write failed; the ban holds in memory");
  /** Writes the ban of `address` now in force through to the store. */
  const persist = (address: string | undefined): void => {
    if (deps.store === undefined || address === undefined) return;
    const check = bans.check(address, clock.wallNow());
    if (check.kind === "banned") void deps.store.save(check.ban).catch(storeFailed);
  };
  const unpersist = (address: string): void => {
    if (deps.store !== undefined) void deps.store.remove(address).catch(storeFailed);
  };
  const limiter = new SourceLimiter({
    register: { ratePerSecond: settings.rate.register.perSecond, burst: settings.rate.register.burst },
    invite: { ratePerSecond: settings.rate.invite.perSecond, burst: settings.rate.invite.burst },
    other: { ratePerSecond: settings.rate.other.perSecond, burst: settings.rate.other.burst },
    banMs,
    maxConnectionsPerSource: settings.maxConnectionsPerSource,
    trusted,
  });
  const scanners = createScannerDetector({ patterns: settings.scanners.patterns ?? DEFAULT_SCANNER_USER_AGENTS, banMs });
  const { perAccount, accountLock } = settings.auth;
  const auth = new AuthFailureTracker({
    perSource: { maxFailures: settings.auth.maxFailures, windowMs: settings.auth.windowSeconds * 1000 },
    ...(perAccount === undefined ? {} : { perAccount: { maxFailures: perAccount.maxFailures, windowMs: perAccount.windowSeconds * 1000 } }),
    ...(accountLock?.enabled === true
      ? { accountLock: { baseMs: accountLock.baseSeconds * 1000, maxMs: Math.max(accountLock.baseSeconds, accountLock.maxSeconds) * 1000 } }
      : {}),
    banMs,
    trusted,
  });
  const requestScreen: RequestScreen = {
    bans,
    limiter,
    scanners,
    messageLimits: {
      ...DEFAULT_MESSAGE_LIMITS,
      maxHeaders: settings.limits.maxHeaders,
      maxHeaderLineBytes: settings.limits.maxHeaderLength,
      maxVias: settings.limits.maxVias,
      maxBodyBytes: settings.limits.maxBody,
    },
  };
  const screened: Record<string, number> = {};
  const bansPlaced: Record<string, number> = {};
  const countBan = (rule: string): void => {
    bansPlaced[rule] = (bansPlaced[rule] ?? 0) + 1;
  };
  let authFailures = 0;

  const screen: InboundScreen = (request: SipRequest, context: InboundContext): ScreenOutcome => {
    const source = canonicalAddress(context.remote.address) ?? context.remote.address;
    const ua = userAgentOf(request);
    const verdict = screenRequest(requestScreen, { source, method: request.method, ...(ua !== undefined ? { userAgent: ua } : {}), shape: shapeOf(request) }, clock.wallNow());
    if (verdict.kind === "pass") return SCREEN_RESULT_PASS;
    screened[verdict.rule] = (screened[verdict.rule] ?? 0) + 1;
    logDomainEvent(logger, verdict.event);
    if (verdict.kind === "drop") {
      if (verdict.banEvent !== undefined) {
        countBan(verdict.rule);
        persist(verdict.banEvent.source);
      }
      logDomainEvent(logger, verdict.banEvent);
      return { kind: "drop", rule: verdict.rule };
    }
    return { kind: "reject", status: verdict.status, reason: verdict.reasonPhrase };
  };

  const connectionGate: ConnectionGate = {
    accept(remote: Endpoint): boolean {
      const source = canonicalAddress(remote.address) ?? remote.address;
      const now = clock.wallNow();
      if (bans.check(source, now).kind === "banned") return false;
      const decision = limiter.acquireConnection(source, now);
      if (decision.kind === "allow") return true;
      logDomainEvent(logger, decision.event);
      return false;
    },
    release(remote: Endpoint): void {
      limiter.releaseConnection(canonicalAddress(remote.address) ?? remote.address);
    },
  };

  const datagramGate = (remote: Endpoint): boolean => {
    if (bans.size === 0 || bans.check(remote.address, clock.wallNow()).kind !== "banned") return true;
    screened["banned"] = (screened["banned"] ?? 0) + 1;
    return false;
  };

  const housekeepingMs = deps.housekeepingMs ?? 60_000;
  let timer: Timer | null = null;
  const housekeep = (): void => {
    for (const expired of bans.expire(clock.wallNow())) {
      unpersist(expired.address);
      logger.info({ source: expired.address, rule: expired.rule, security: true }, "ban expired");
    }
    if (housekeepingMs > 0) timer = clock.schedule(housekeepingMs, housekeep);
  };
  if (housekeepingMs > 0) timer = clock.schedule(housekeepingMs, housekeep);

  return {
    screen,
    connectionGate,
    datagramGate,
    recordAuthFailure(source, account) {
      authFailures++;
      const address = canonicalAddress(source) ?? source;
      const now = clock.wallNow();
      const verdict = auth.recordFailure({ source: address, ...(account !== undefined ? { account } : {}) }, now);
      if (verdict.kind !== "ban") return;
      for (const event of verdict.events) logDomainEvent(logger, event);
      if (verdict.ban !== undefined) {
        const outcome = bans.ban(address, verdict.ban, now);
        if (outcome.kind === "banned") {
          countBan(verdict.ban.rule);
          persist(address);
          limiter.forget(address);
          logDomainEvent(logger, outcome.event);
        }
      }
    },
    accountLock(account) {
      const lock = auth.lockOf(account, clock.wallNow());
      return lock === undefined ? undefined : { until: lock.until, reason: lock.reason };
    },
    listAccountLocks: () => auth.activeLocks(clock.wallNow()),
    unlockAccount(account, by) {
      const out = auth.unlock(account, clock.wallNow(), by);
      if (out.lifted === undefined) return { ok: false, reason: `account ${account} is not locked` };
      logDomainEvent(logger, out.event);
      return { ok: true, lock: out.lifted };
    },
    listBans: () => bans.list(clock.wallNow()),
    addBan(address, options) {
      const outcome = bans.add(
        address,
        {
          reason: options.reason ?? "manual ban",
          ...(options.seconds !== undefined ? { durationMs: options.seconds * 1000 } : {}),
          ...(options.by !== undefined ? { by: options.by } : {}),
        },
        clock.wallNow(),
      );
      if (outcome.kind === "refused") return { ok: false, reason: outcome.reason };
      countBan("manual");
      persist(outcome.ban.address);
      logDomainEvent(logger, outcome.event);
      return { ok: true, ban: outcome.ban };
    },
    liftBan(address) {
      const key = canonicalAddress(address);
      if (key === undefined) return { ok: false, reason: `${address} is not an IP address` };
      const out = bans.lift(key, clock.wallNow(), true);
      if (out.lifted === undefined) return { ok: false, reason: `${key} is not banned` };
      unpersist(key);
      logDomainEvent(logger, out.event);
      return { ok: true, ban: out.lifted };
    },
    stats: () => ({ screened: { ...screened }, bans: bans.list(clock.wallNow()).length, authFailures, bansPlaced: { ...bansPlaced } }),
    stop() {
      if (timer !== null) timer.cancel();
      timer = null;
    },
  };
}
