// The toll-fraud engine of the call layer: the domain's rules (src/domain/fraud.ts) judge, this
// module keeps what they judge on. Per customer: calls in progress, recent call starts, the burst
// baseline, a suspension, and today's and this month's spend (from the CDRs of ended calls). It
// also acts on verdicts: a security event for each, a webhook POST that never holds up the call,
// and suspensions written to storage so a restart does not quietly re-open a hijacked trunk.
import {
  DEFAULT_FRAUD_RANGES,
  FraudLedger,
  createFraudRanges,
  fraudPolicyOf,
  judgeOutboundCall,
  type CustomerTrunk,
  type E164,
  type FraudRanges,
  type FraudVerdict,
} from "../domain/index.ts";
import type { Clock } from "../lib/index.ts";
import type { Logger } from "../observability/index.ts";
import { securityEvent } from "../observability/index.ts";
import type { CallDetailRecord, CdrRepository, FraudSuspension, FraudSuspensionRepository } from "../ports/index.ts";

/** Sends one alert; resolves the HTTP status. Injected by tests; fetch by default. */
export type AlertPoster = (url: string, body: string, timeoutMs: number) => Promise<number>;

/** Settings of the engine; all optional. */
export interface FraudEngineOptions {
  /** Verdicts other than a plain allow are POSTed here as JSON. */
  readonly webhookUrl?: string | undefined;
  /** Longest an alert POST may take. Default 2000 ms. */
  readonly webhookTimeoutMs?: number;
  /** Alert POSTs in flight at most; beyond it alerts are dropped (and logged). Default 64. */
  readonly maxAlertsInFlight?: number;
}

/** What createFraudEngine needs. */
export interface FraudEngineDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Number ranges; the shipped list when absent. */
  readonly ranges?: FraudRanges;
  /** Where suspensions are kept across restarts. */
  readonly suspensions?: FraudSuspensionRepository;
  /** Suspensions read from storage at start. */
  readonly initialSuspensions?: readonly FraudSuspension[];
  readonly post?: AlertPoster;
  readonly options?: FraudEngineOptions;
}

/** One outbound call attempt as the engine is told of it. */
export interface FraudCallFacts {
  /** Our id of the call (the CDR id): what `callEnded` is matched on. */
  readonly id: string;
  readonly callId: string;
  readonly destination: E164;
  /** Price per minute of the first route target, when the rate deck has one. */
  readonly ratePerMinute?: number | undefined;
  /** Where the INVITE came from, for the security event. */
  readonly source: string;
}

interface Spend {
  readonly day: string;
  readonly today: number;
  readonly month: string;
  readonly thisMonth: number;
}

/** The engine: judge a call, hear of its end, list and lift suspensions, swap range lists. */
export interface FraudEngine {
  /** Judges one outbound call and records it: an allowed call counts as started until `callEnded`. */
  evaluate(customer: CustomerTrunk, call: FraudCallFacts): FraudVerdict;
  /** Told of every CDR written at a call's end (whatever the ending); frees the call and adds its cost. */
  callEnded(record: CallDetailRecord): void;
  /** Suspended customers, oldest first. */
  suspensions(): FraudSuspension[];
  /** Lifts a customer's suspension; false when it was not suspended. */
  lift(customerId: string, by?: string): boolean;
  /** Replaces the range list (a reloaded rangesFile). */
  setRanges(ranges: FraudRanges): void;
  readonly rangesVersion: string;
  /** Calls in progress the engine counts for a customer (tests, dashboard). */
  activeCalls(customerId: string): number;
  /** Today's and this month's spend of a customer from ended calls. */
  spend(customerId: string): { readonly today: number; readonly thisMonth: number };
  /** Adds up this month's cost per customer from stored CDRs (at start); bounded by `maxRows`. */
  loadSpend(cdrs: CdrRepository, maxRows?: number): Promise<void>;
  /** Resolves once every alert in flight has settled (tests, shutdown). */
  drain(): Promise<void>;
}

const defaultPost: AlertPoster = async (url, body, timeoutMs) => {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(timeoutMs) });
  await res.body?.cancel();
  return res.status;
};

const DAY_MS = 86_400_000;
/** The UTC day last asked for: every call asks, nearly always for the same day. */
let lastDay = { start: 0, end: 0, text: "" };

/** The UTC day of a time, "YYYY-MM-DD". */
function dayOf(ms: number): string {
  if (ms >= lastDay.start && ms < lastDay.end) return lastDay.text;
  const start = Math.floor(ms / DAY_MS) * DAY_MS;
  const text = new Date(ms).toISOString().slice(0, 10);
  lastDay = { start, end: start + DAY_MS, text };
  return text;
}

function shipped(): FraudRanges {
  const r = createFraudRanges(DEFAULT_FRAUD_RANGES);
  // The shipped list is tested (fraud-ranges.test.ts); failing here is a bug in this release.
  if (!r.ok) throw new Error(`shipped fraud ranges invalid: ${r.error.join("; ")}`);
  return r.value;
}

/** Creates the engine with empty per-customer state (suspensions from `initialSuspensions`). */
export function createFraudEngine(deps: FraudEngineDeps): FraudEngine {
  const { clock } = deps;
  const log = deps.logger.child({ component: "fraud" });
  const post = deps.post ?? defaultPost;
  const webhookUrl = deps.options?.webhookUrl;
  const timeoutMs = deps.options?.webhookTimeoutMs ?? 2000;
  const maxInFlight = deps.options?.maxAlertsInFlight ?? 64;
  let ranges = deps.ranges ?? shipped();
  const ledgers = new Map<string, FraudLedger>();
  const spends = new Map<string, Spend>();
  const inFlight = new Set<Promise<void>>();

  for (const s of deps.initialSuspensions ?? []) ledgers.set(s.customerId, new FraudLedger({ at: s.at, rule: s.rule, reason: s.reason }));

  const spendOf = (customerId: string, now: number): Spend => {
    const day = dayOf(now);
    const month = day.slice(0, 7);
    const s = spends.get(customerId);
    if (s === undefined) return { day, today: 0, month, thisMonth: 0 };
    // A new day (or month) starts from zero; the stored value is rolled lazily, on the next read.
    return { day, today: s.day === day ? s.today : 0, month, thisMonth: s.month === month ? s.thisMonth : 0 };
  };

  const addSpend = (customerId: string, at: number, cost: number): void => {
    const now = clock.wallNow();
    const s = spendOf(customerId, now);
    const day = dayOf(at);
    spends.set(customerId, {
      ...s,
      today: s.today + (day === s.day ? cost : 0),
      thisMonth: s.thisMonth + (day.slice(0, 7) === s.month ? cost : 0),
    });
  };

  const persist = (what: string, work: Promise<void> | undefined): void => {
    void work?.catch((error: unknown) => log.error({ err: error }, `fraud suspension ${what} failed`));
  };

  const alert = (customer: CustomerTrunk, call: FraudCallFacts, verdict: FraudVerdict, now: number): void => {
    const fired = verdict.results.filter((r) => r.outcome === "hit");
    const rule = fired.find((r) => r.action === verdict.kind)?.rule ?? fired[0]?.rule ?? "none";
    securityEvent(log, {
      source: call.source,
      account: customer.id,
      reason: `fraud-${rule}`,
      action: verdict.kind,
      detail: verdict.reason,
      callId: call.callId,
      destination: call.destination,
      destinationClass: verdict.destinationClass,
      rules: fired.map((r) => r.rule),
    });
    if (webhookUrl === undefined) return;
    if (inFlight.size >= maxInFlight) {
      log.warn({ callId: call.callId, inFlight: inFlight.size }, "fraud alert dropped: webhook too slow");
      return;
    }
    const body = JSON.stringify({
      type: "fraud-verdict",
      at: new Date(now).toISOString(),
      action: verdict.kind,
      rule,
      reason: verdict.reason,
      customer: { id: customer.id, name: customer.name },
      callId: call.callId,
      cdrId: call.id,
      source: call.source,
      destination: call.destination,
      destinationClass: verdict.destinationClass,
      rangesVersion: ranges.version,
      ...(verdict.range !== undefined ? { range: verdict.range } : {}),
      alerts: verdict.alerts,
    });
    const p = post(webhookUrl, body, timeoutMs).then(
      (status) => {
        if (status < 200 || status >= 300) log.warn({ callId: call.callId, status }, "fraud alert webhook answered with an error");
      },
      (error: unknown) => log.warn({ err: error, callId: call.callId }, "fraud alert webhook failed"),
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  return {
    evaluate(customer, call) {
      const now = clock.wallNow();
      const policy = fraudPolicyOf(customer);
      let ledger = ledgers.get(customer.id);
      if (ledger === undefined) ledgers.set(customer.id, (ledger = new FraudLedger()));
      const spend = spendOf(customer.id, now);
      const { verdict, baseline, suspension } = judgeOutboundCall(
        policy,
        ranges,
        ledger,
        { callId: call.id, destination: call.destination, ...(call.ratePerMinute !== undefined ? { ratePerMinute: call.ratePerMinute } : {}), spentToday: spend.today, spentThisMonth: spend.thisMonth },
        now,
      );
      ledger.baseline = baseline;
      if (verdict.kind === "allow") {
        ledger.started({ callId: call.id, destination: call.destination, destinationClass: verdict.destinationClass, ratePerMinute: call.ratePerMinute ?? 0 }, now, policy);
      }
      if (suspension !== undefined) {
        ledger.suspended = suspension;
        log.warn({ customer: customer.id, rule: suspension.rule, security: true }, "customer outbound calling suspended");
        persist("save", deps.suspensions?.save({ customerId: customer.id, at: suspension.at, rule: suspension.rule, reason: suspension.reason }));
      }
      if (verdict.kind !== "allow" || verdict.alerts.length > 0) alert(customer, call, verdict, now);
      return verdict;
    },

    callEnded(record) {
      if (record.direction !== "outbound" || record.customerId === null) return;
      ledgers.get(record.customerId)?.ended(record.id);
      if (record.cost !== null && record.cost > 0) addSpend(record.customerId, record.endedAt ?? clock.wallNow(), record.cost);
    },

    suspensions() {
      const out: FraudSuspension[] = [];
      for (const [customerId, l] of ledgers) if (l.suspended !== undefined) out.push({ customerId, ...l.suspended });
      return out.sort((a, b) => a.at - b.at);
    },

    lift(customerId, by) {
      const ledger = ledgers.get(customerId);
      if (ledger?.suspended === undefined) return false;
      const lifted = ledger.suspended;
      ledger.suspended = undefined;
      securityEvent(log, { source: "", account: customerId, reason: "fraud-suspension-lifted", action: "lift", detail: `suspension of ${customerId} (${lifted.rule}) lifted${by !== undefined ? ` by ${by}` : ""}` });
      persist("remove", deps.suspensions?.remove(customerId));
      return true;
    },

    setRanges(next) {
      ranges = next;
    },

    get rangesVersion() {
      return ranges.version;
    },

    activeCalls: (customerId) => ledgers.get(customerId)?.activeCount(undefined) ?? 0,

    spend(customerId) {
      const s = spendOf(customerId, clock.wallNow());
      return { today: s.today, thisMonth: s.thisMonth };
    },

    async loadSpend(cdrs, maxRows = 50_000) {
      const now = clock.wallNow();
      const monthStart = Date.parse(`${dayOf(now).slice(0, 7)}-01T00:00:00Z`);
      const page = 1000;
      let seen = 0;
      for (let offset = 0; offset < maxRows; offset += page) {
        const { rows } = await cdrs.search({ from: monthStart, limit: page, offset });
        for (const r of rows) if (r.endedAt !== null) this.callEnded({ ...r, id: `loaded:${r.id}` });
        seen += rows.length;
        if (rows.length < page) break;
      }
      if (seen >= maxRows) log.warn({ rows: seen }, "spend this month counted from the newest CDRs only");
    },

    async drain() {
      await Promise.all([...inFlight]);
    },
  };
}
