/**
 * Gateway health: OPTIONS pings (RFC 3261 11) to every carrier gateway and static customer URI,
 * with hysteresis so one lost datagram does not take a gateway out of routing.
 *
 * What counts as an answer: any final response from the network proves the peer's SIP stack is
 * alive and reachable, including 404 or 405 from gateways that refuse out-of-dialog OPTIONS, and
 * 401/407 from ones that want credentials. Except 503: a gateway saying Service Unavailable is
 * telling us not to send it calls (RFC 3261 21.5.4), so it counts as a miss. A timeout (our own
 * deadline, or the transaction's synthesized 408) or a transport error (synthesized 503) is a miss.
 */
import { newCallId, newTag, type Clock, type Timer } from "../lib/index.ts";
import type { Logger } from "../observability/index.ts";
import type { Policy } from "../domain/index.ts";
import {
  createRequest,
  parseUri,
  resolveTarget,
  type ClientTransactionUser,
  type SendTarget,
  type SipStack,
  type SipUri,
  type TransportProtocol,
} from "../sip/index.ts";

/** Something to ping: a carrier gateway or a static customer URI. */
export interface HealthTarget {
  readonly id: string;
  readonly uri: string;
  readonly transport: "udp" | "tcp" | "tls";
}

/** Health state of one target; every target starts `up` so routing works from the first call. */
export type HealthStatus = "up" | "down";

/** What the last ping came back with. */
export type PingOutcome =
  | { readonly kind: "answer"; readonly status: number }
  | { readonly kind: "miss"; readonly reason: "timeout" | "transport" | "unavailable" | "resolve" | "bad-uri"; readonly status?: number };

/** One target's health, as state() reports it. */
export interface HealthSnapshot {
  readonly id: string;
  readonly uri: string;
  readonly status: HealthStatus;
  readonly consecutiveMisses: number;
  readonly consecutiveAnswers: number;
  /** Monotonic clock time of the last status change (or of first sight). */
  readonly since: number;
  readonly last: PingOutcome | null;
}

/** Told on every up/down change. */
export interface HealthChange {
  readonly id: string;
  readonly uri: string;
  readonly from: HealthStatus;
  readonly to: HealthStatus;
  readonly last: PingOutcome;
}

/** Resolves a target to where its OPTIONS go (RFC 3263); tests may pass their own. */
export type HealthResolver = (uri: SipUri, transport: TransportProtocol) => Promise<SendTarget[]>;

/** Ping schedule and hysteresis. */
export interface GatewayHealthOptions {
  /** Between two rounds of pings, ms. Default 30000. */
  intervalMs?: number;
  /** A ping with no final response after this long is a miss, ms. Default 5000 (well under Timer F's 32 s). */
  timeoutMs?: number;
  /** Consecutive misses that take an up target down. Default 3. */
  downAfter?: number;
  /** Consecutive answers that bring a down target back up. Default 2. */
  upAfter?: number;
  /** From of the pings. Default `sip:trunkline@trunkline.invalid`. */
  fromUri?: string;
  resolve?: HealthResolver;
}

/** What gateway health needs from the rest of the system. */
export interface GatewayHealthDeps {
  stack: { readonly transactions: Pick<SipStack["transactions"], "sendRequest"> };
  /** Read at every round, so provisioning changes are picked up without a restart. */
  targets: () => ReadonlyArray<HealthTarget>;
  clock: Clock;
  logger: Logger;
  options?: GatewayHealthOptions;
}

/** Running health checks. */
export interface GatewayHealth {
  /** Starts the rounds; the first one runs at once. */
  start(): void;
  /** Stops pinging; results still in flight are ignored. */
  stop(): void;
  /** True when the target is known and down; unknown targets are not down. */
  isDown(id: string): boolean;
  /** Every known target's health. */
  state(): HealthSnapshot[];
  /** Subscribes to up/down changes; returns the unsubscribe function. */
  onChange(listener: (change: HealthChange) => void): () => void;
  /** Pings every target once now; resolves when every ping has its outcome. */
  pingAll(): Promise<void>;
}

interface Entry {
  id: string;
  uri: string;
  status: HealthStatus;
  misses: number;
  answers: number;
  since: number;
  last: PingOutcome | null;
  inFlight: boolean;
}

const PROTOCOL: Record<HealthTarget["transport"], TransportProtocol> = { udp: "UDP", tcp: "TCP", tls: "TLS" };

const defaultResolver: HealthResolver = (uri, transport) => resolveTarget(uri, { transports: [transport] });

/**
 * What to ping under a policy: every carrier gateway (by its gateway id) and every static-mode
 * customer URI (as `customer:<id>`); registered customers are reachable only while registered,
 * so the registrar, not pings, tells about them.
 */
export function healthTargets(policy: Policy): HealthTarget[] {
  const out: HealthTarget[] = [];
  for (const carrier of policy.carriers.values()) {
    for (const g of carrier.gateways) out.push({ id: g.id, uri: g.uri, transport: g.transport });
  }
  for (const customer of policy.customers.values()) {
    if (customer.mode.kind !== "static") continue;
    const t = /;transport=(udp|tcp|tls)\b/i.exec(customer.mode.uri)?.[1]?.toLowerCase();
    const transport = t === "tcp" || t === "tls" ? t : customer.mode.uri.startsWith("sips:") ? "tls" : "udp";
    out.push({ id: `customer:${customer.id}`, uri: customer.mode.uri, transport });
  }
  return out;
}

/** Creates OPTIONS health checks over the stack's client transactions. */
export function createGatewayHealth(deps: GatewayHealthDeps): GatewayHealth {
  const o = deps.options ?? {};
  const intervalMs = o.intervalMs ?? 30_000;
  const timeoutMs = o.timeoutMs ?? 5_000;
  const downAfter = o.downAfter ?? 3;
  const upAfter = o.upAfter ?? 2;
  const resolve = o.resolve ?? defaultResolver;
  const fromUri = parseUri(o.fromUri ?? "sip:trunkline@trunkline.invalid");
  if (fromUri === null) throw new Error("gateway health fromUri is not a URI");
  const { clock } = deps;
  const log = deps.logger.child({ component: "gateway-health" });
  const entries = new Map<string, Entry>();
  const listeners = new Set<(change: HealthChange) => void>();
  let round: Timer | null = null;
  let running = false;
  // Bumped by stop(): a ping from an earlier run must not change state after a restart.
  let generation = 0;

  const record = (entry: Entry, outcome: PingOutcome): void => {
    entry.last = outcome;
    if (outcome.kind === "answer") {
      entry.answers++;
      entry.misses = 0;
    } else {
      entry.misses++;
      entry.answers = 0;
    }
    const from = entry.status;
    if (from === "up" && entry.misses >= downAfter) entry.status = "down";
    else if (from === "down" && entry.answers >= upAfter) entry.status = "up";
    if (entry.status === from) return;
    entry.since = clock.now();
    const change: HealthChange = { id: entry.id, uri: entry.uri, from, to: entry.status, last: outcome };
    if (entry.status === "down") log.warn({ gateway: entry.id, uri: entry.uri, misses: entry.misses, last: outcome }, "gateway down");
    else log.info({ gateway: entry.id, uri: entry.uri, answers: entry.answers }, "gateway up");
    for (const l of listeners) {
      try {
        l(change);
      } catch (error) {
        log.error({ err: error }, "health change listener threw");
      }
    }
  };

  const sendOptions = async (target: HealthTarget, uri: SipUri): Promise<PingOutcome> => {
    let hops: SendTarget[];
    try {
      hops = await resolve(uri, PROTOCOL[target.transport]);
    } catch {
      return { kind: "miss", reason: "resolve" };
    }
    const hop = hops[0];
    if (hop === undefined) return { kind: "miss", reason: "resolve" };
    const req = createRequest({
      method: "OPTIONS",
      uri,
      from: { displayName: null, uri: fromUri, params: { tag: newTag() } },
      to: { displayName: null, uri, params: {} },
      callId: newCallId(),
      cseq: 1,
      headers: [{ name: "Accept", value: "application/sdp" }],
    });
    return new Promise<PingOutcome>((settle) => {
      let done = false;
      const finish = (outcome: PingOutcome): void => {
        if (done) return;
        done = true;
        timer.cancel();
        settle(outcome);
      };
      const timer = clock.schedule(timeoutMs, () => finish({ kind: "miss", reason: "timeout" }));
      const user: ClientTransactionUser = {
        onFinal(res, _tx, source) {
          if (source === "timeout") finish({ kind: "miss", reason: "timeout" });
          else if (source === "transport") finish({ kind: "miss", reason: "transport" });
          else if (res.status === 503) finish({ kind: "miss", reason: "unavailable", status: 503 });
          else finish({ kind: "answer", status: res.status });
        },
      };
      try {
        deps.stack.transactions.sendRequest(req, hop, user);
      } catch {
        finish({ kind: "miss", reason: "transport" });
      }
    });
  };

  const ping = async (target: HealthTarget, entry: Entry): Promise<void> => {
    // A ping still waiting (timeoutMs above intervalMs) is not doubled: one outcome per ping.
    if (entry.inFlight) return;
    entry.inFlight = true;
    const started = generation;
    const uri = parseUri(target.uri);
    const outcome: PingOutcome = uri === null || !("host" in uri) ? { kind: "miss", reason: "bad-uri" } : await sendOptions(target, uri);
    entry.inFlight = false;
    if (started !== generation || entries.get(target.id) !== entry) return;
    record(entry, outcome);
  };

  const pingAll = async (): Promise<void> => {
    const targets = deps.targets();
    const seen = new Set<string>();
    const work: Promise<void>[] = [];
    for (const t of targets) {
      seen.add(t.id);
      let entry = entries.get(t.id);
      if (entry === undefined || entry.uri !== t.uri) {
        entry = { id: t.id, uri: t.uri, status: "up", misses: 0, answers: 0, since: clock.now(), last: null, inFlight: false };
        entries.set(t.id, entry);
      }
      work.push(ping(t, entry));
    }
    // Targets no longer provisioned are forgotten, so state() shows only what routing can use.
    for (const id of [...entries.keys()]) if (!seen.has(id)) entries.delete(id);
    await Promise.all(work);
  };

  const scheduleRound = (): void => {
    if (!running) return;
    round = clock.schedule(intervalMs, () => {
      void pingAll().catch((error: unknown) => log.error({ err: error }, "health round failed"));
      scheduleRound();
    });
  };

  return {
    start() {
      if (running) return;
      running = true;
      void pingAll().catch((error: unknown) => log.error({ err: error }, "health round failed"));
      scheduleRound();
    },
    stop() {
      running = false;
      generation++;
      round?.cancel();
      round = null;
      for (const e of entries.values()) e.inFlight = false;
    },
    isDown(id) {
      return entries.get(id)?.status === "down";
    },
    state() {
      return [...entries.values()].map((e) => ({
        id: e.id,
        uri: e.uri,
        status: e.status,
        consecutiveMisses: e.misses,
        consecutiveAnswers: e.answers,
        since: e.since,
        last: e.last,
      }));
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    pingAll,
  };
}
