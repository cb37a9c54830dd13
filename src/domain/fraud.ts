import { canonicalPrefix, type FraudRanges, type RangeEntry } from "./fraud-ranges.ts";
import { refusal } from "./refusal.ts";
import type { SecurityEvent } from "./security.ts";
import type { E164, Refusal } from "./types.ts";

/** How far a destination is from the caller, in risk: each class is stricter than the one before. */
export type DestinationClass = "domestic" | "international" | "premium" | "high-risk";

/** What a rule does when it fires. `allow` is monitor mode: the call goes through, the alert is sent. */
export type FraudAction = "allow" | "block" | "block-and-suspend";

/** The rules of the engine, in the order they are evaluated and reported. */
export type FraudRule =
  | "suspended"
  | "destination-prefix"
  | "destination-class"
  | "concurrent-calls"
  | "calls-per-minute"
  | "daily-spend"
  | "monthly-spend"
  | "sequential-dialing"
  | "burst";

/** Limits for one destination class (or all calls together). */
export interface ClassLimit {
  readonly concurrent?: number;
  readonly perMinute?: number;
}

/** Number-range scanning: `distinctNumbers` numbers equal but for their last `varyingDigits`, within `windowMs`. */
export interface SequentialRule {
  readonly windowMs: number;
  readonly distinctNumbers: number;
  readonly varyingDigits: number;
}

/**
 * Bursts against the customer's own habit: calls in the last `windowMs` against an exponentially
 * weighted mean of calls per `windowMs` window. Fires above `factor` times the mean, and never
 * below `minCalls` (a quiet night decays the mean towards zero; the first morning calls are no attack).
 */
export interface BurstRule {
  readonly windowMs: number;
  readonly factor: number;
  readonly minCalls: number;
  /** Weight of the newest window in the mean. */
  readonly alpha: number;
  /** Windows seen before the rule starts judging. */
  readonly warmupWindows: number;
}

/** One customer's fraud policy. Classes above domestic are off unless enabled. */
export interface FraudPolicy {
  readonly customerId: string;
  readonly name: string;
  /** The customer's country calling code without `+` (its numbering plan's): what counts as domestic. */
  readonly countryCode: string;
  /** Exemptions: a destination under one of these passes the class rules (the customer asked for it by name). */
  readonly allowPrefixes?: readonly string[];
  /** Always refused; the more specific of an allow and a deny prefix wins, deny on a tie. */
  readonly denyPrefixes?: readonly string[];
  readonly allowInternational?: boolean;
  readonly allowPremium?: boolean;
  readonly allowHighRisk?: boolean;
  readonly limits?: { readonly [K in DestinationClass | "total"]?: ClassLimit };
  /** Spend caps in the rate deck's currency; absent: none. */
  readonly dailySpendCap?: number;
  readonly monthlySpendCap?: number;
  /** Absent: defaults; `false`: off. */
  readonly sequential?: SequentialRule | false;
  readonly burst?: BurstRule | false;
  readonly actions?: { readonly [K in FraudRule]?: FraudAction };
}

/** A customer's fraud settings as provisioned (`fraud:` of a customer); the policy adds who and where. */
export type CustomerFraudSettings = Omit<FraudPolicy, "customerId" | "name" | "countryCode">;

/** The fraud policy of a customer: its settings (safe defaults when absent) and its own country as domestic. */
export function fraudPolicyOf(customer: {
  readonly id: string;
  readonly name: string;
  readonly numbering: { readonly countryCode: string };
  readonly fraud?: CustomerFraudSettings;
}): FraudPolicy {
  return { ...customer.fraud, customerId: customer.id, name: customer.name, countryCode: customer.numbering.countryCode };
}

/** Default sequential-dialing rule: 10 numbers differing in the last 2 digits within 10 minutes. */
export const DEFAULT_SEQUENTIAL_RULE: SequentialRule = { windowMs: 10 * 60_000, distinctNumbers: 10, varyingDigits: 2 };

/** Default burst rule: over 5x the usual calls per 5 minutes, and at least 20, after an hour of learning. */
export const DEFAULT_BURST_RULE: BurstRule = { windowMs: 5 * 60_000, factor: 5, minCalls: 20, alpha: 0.1, warmupWindows: 12 };

// Sequential dialing is the signature of a hijacked PBX probing a revenue-share range, so it
// stops the trunk; the others stop the call and leave the operator to judge.
/** Default action per rule. */
export const DEFAULT_FRAUD_ACTIONS: { readonly [K in FraudRule]: FraudAction } = {
  suspended: "block",
  "destination-prefix": "block",
  "destination-class": "block",
  "concurrent-calls": "block",
  "calls-per-minute": "block",
  "daily-spend": "block",
  "monthly-spend": "block",
  "sequential-dialing": "block-and-suspend",
  burst: "block",
};

/** The running mean of calls per burst window. */
export interface Baseline {
  readonly windowStart: number;
  readonly count: number;
  readonly mean: number;
  readonly windows: number;
}

/** A suspension of the customer's outbound calling, until an operator lifts it. */
export interface Suspension {
  readonly at: number;
  readonly rule: FraudRule;
  readonly reason: string;
}

/** The facts of one outbound call attempt. */
export interface FraudCall {
  readonly callId: string;
  /** Normalized destination. */
  readonly destination: E164;
  /** Estimated price per minute (rate deck lookup); used for the running cost of the call. */
  readonly ratePerMinute?: number;
  /** Cost of the customer's calls already ended today and this month (from CDRs). */
  readonly spentToday?: number;
  readonly spentThisMonth?: number;
}

/** The result of one rule: it passed, it fired (with the action taken), or it did not apply. */
export interface FraudRuleResult {
  readonly rule: FraudRule;
  readonly outcome: "pass" | "hit" | "skipped";
  readonly action?: FraudAction;
  readonly reason: string;
}

/** An explainable verdict: every rule's result, the alerts to send, and the refusal when blocked. */
export interface FraudVerdict {
  readonly kind: FraudAction;
  readonly reason: string;
  readonly destinationClass: DestinationClass;
  readonly range?: RangeEntry;
  readonly results: readonly FraudRuleResult[];
  /** One per fired rule, for the webhook and the security event log. */
  readonly alerts: readonly SecurityEvent[];
  readonly refusal?: Refusal;
}

/** A destination's class and the listed range that put it there. */
export interface Classification {
  readonly destinationClass: DestinationClass;
  readonly range?: RangeEntry;
  readonly reason: string;
}

/** Classifies a destination for a caller of `countryCode`: listed ranges first, then the country code. */
export function classifyDestination(destination: E164, countryCode: string, ranges: FraudRanges): Classification {
  const high = ranges.highRiskOf(destination);
  if (high !== undefined) {
    return { destinationClass: "high-risk", range: high, reason: `${destination} is high-risk: ${high.prefix} ${high.label} (list ${ranges.version})` };
  }
  const premium = ranges.premiumOf(destination);
  if (premium !== undefined) {
    return { destinationClass: "premium", range: premium, reason: `${destination} is premium: ${premium.prefix} ${premium.label} (list ${ranges.version})` };
  }
  if (destination.startsWith("+" + countryCode)) return { destinationClass: "domestic", reason: `${destination} is domestic (+${countryCode})` };
  return { destinationClass: "international", reason: `${destination} is international (caller +${countryCode})` };
}

function longestPrefix(prefixes: readonly string[] | undefined, number: E164): string | undefined {
  let best: string | undefined;
  for (const raw of prefixes ?? []) {
    const p = canonicalPrefix(raw);
    if (number.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
  }
  return best;
}

/** Moves the baseline forward to `now`: closed windows fold into the mean, empty ones decay it. */
export function rollBaseline(baseline: Baseline | undefined, rule: BurstRule, now: number): Baseline {
  if (baseline === undefined) return { windowStart: now, count: 0, mean: 0, windows: 0 };
  if (now < baseline.windowStart + rule.windowMs) return baseline;
  const closed = Math.floor((now - baseline.windowStart) / rule.windowMs);
  let mean = baseline.windows === 0 ? baseline.count : rule.alpha * baseline.count + (1 - rule.alpha) * baseline.mean;
  // The windows after the first closed one had no calls; fold them in at once, not one by one.
  mean *= Math.pow(1 - rule.alpha, closed - 1);
  return { windowStart: baseline.windowStart + closed * rule.windowMs, count: 0, mean, windows: baseline.windows + closed };
}

const SEVERITY: Readonly<Record<FraudAction, number>> = { allow: 0, block: 1, "block-and-suspend": 2 };

// Every block is a 403, limits included: a 503 would send the PBX to its next trunk or make it
// retry, and a fraud verdict asks for neither; the Warning names the rule for the PBX's admin.
const REFUSALS: { readonly [K in FraudRule]: string } = {
  suspended: "Outbound calling suspended",
  "destination-prefix": "Destination not allowed",
  "destination-class": "Destination class not enabled",
  "concurrent-calls": "Concurrent call limit for destination reached",
  "calls-per-minute": "Call rate limit for destination reached",
  "daily-spend": "Daily spend limit reached",
  "monthly-spend": "Monthly spend limit reached",
  "sequential-dialing": "Sequential dialing detected",
  burst: "Unusual call volume",
};

function fraudRefusal(rule: FraudRule, reason: string): Refusal {
  return { ...refusal("destination-not-allowed", reason), warning: `Fraud rule ${rule}: ${REFUSALS[rule]}` };
}

/**
 * What the rules read of a customer's history. The call layer's `FraudLedger` answers from indexes, in O(1) or O(log n) per
 * question, so a busy customer's thousands of recent calls cost nothing per new call.
 */
export interface FraudHistory {
  readonly suspended: Suspension | undefined;
  readonly baseline: Baseline | undefined;
  /** Calls in progress, of one class or (undefined) all. */
  activeCount(cls: DestinationClass | undefined): number;
  /** Calls started strictly after `after` (epoch ms), of one class or all. */
  startedAfter(after: number, cls: DestinationClass | undefined): number;
  /** Different numbers of `destination`'s length starting with `stem` dialled after `after`, `destination` included. */
  distinctNumbers(destination: E164, stem: string, after: number): number;
  /** Estimated cost so far of the calls in progress. */
  runningCost(now: number): number;
}

function classLimitResults(policy: FraudPolicy, history: FraudHistory, cls: DestinationClass, now: number): [FraudRuleResult, FraudRuleResult] {
  const scopes: [string, ClassLimit | undefined, DestinationClass | undefined][] = [
    ["all calls", policy.limits?.total, undefined],
    [`${cls} calls`, policy.limits?.[cls], cls],
  ];
  let concurrent: FraudRuleResult = { rule: "concurrent-calls", outcome: "skipped", reason: `no concurrent-call limit for ${cls}` };
  let perMinute: FraudRuleResult = { rule: "calls-per-minute", outcome: "skipped", reason: `no calls-per-minute limit for ${cls}` };
  for (const [label, limit, scope] of scopes) {
    if (limit?.concurrent !== undefined && concurrent.outcome !== "hit") {
      const n = history.activeCount(scope);
      concurrent =
        n >= limit.concurrent
          ? { rule: "concurrent-calls", outcome: "hit", reason: `${n} of ${limit.concurrent} concurrent ${label} in progress` }
          : { rule: "concurrent-calls", outcome: "pass", reason: `${n + 1} of ${limit.concurrent} concurrent ${label}` };
    }
    if (limit?.perMinute !== undefined && perMinute.outcome !== "hit") {
      const n = history.startedAfter(now - 60_000, scope);
      perMinute =
        n >= limit.perMinute
          ? { rule: "calls-per-minute", outcome: "hit", reason: `${n} ${label} started in the last minute, limit ${limit.perMinute}` }
          : { rule: "calls-per-minute", outcome: "pass", reason: `${n + 1} of ${limit.perMinute} ${label} per minute` };
    }
  }
  return [concurrent, perMinute];
}

function spendResult(rule: "daily-spend" | "monthly-spend", cap: number | undefined, spent: number | undefined, running: number): FraudRuleResult {
  const period = rule === "daily-spend" ? "today" : "this month";
  if (cap === undefined) return { rule, outcome: "skipped", reason: `no spend cap for ${period}` };
  const total = (spent ?? 0) + running;
  const shown = Math.round(total * 100) / 100;
  return total >= cap
    ? { rule, outcome: "hit", reason: `spent ${shown} ${period} (calls in progress included), cap ${cap}` }
    : { rule, outcome: "pass", reason: `spent ${shown} of ${cap} ${period}` };
}

/** The stem sequential dialing compares numbers by: all but the last `varyingDigits` digits. */
export function sequentialStem(destination: E164, rule: SequentialRule): string {
  return destination.slice(0, Math.max(1, destination.length - rule.varyingDigits));
}

function sequentialResult(rule: SequentialRule | false | undefined, history: FraudHistory, destination: E164, now: number): FraudRuleResult {
  if (rule === false) return { rule: "sequential-dialing", outcome: "skipped", reason: "sequential-dialing rule off" };
  const r = rule ?? DEFAULT_SEQUENTIAL_RULE;
  const stem = sequentialStem(destination, r);
  const distinct = history.distinctNumbers(destination, stem, now - r.windowMs);
  const range = `${stem}${"x".repeat(destination.length - stem.length)}`;
  return distinct >= r.distinctNumbers
    ? {
        rule: "sequential-dialing",
        outcome: "hit",
        reason: `${distinct} different numbers in ${range} within ${r.windowMs / 60_000} min (limit ${r.distinctNumbers}): range scanning`,
      }
    : { rule: "sequential-dialing", outcome: "pass", reason: `${distinct} number(s) in ${range} within ${r.windowMs / 60_000} min` };
}

function burstResult(rule: BurstRule | false | undefined, history: FraudHistory, baseline: Baseline | undefined, now: number): FraudRuleResult {
  if (rule === false || baseline === undefined) return { rule: "burst", outcome: "skipped", reason: "burst rule off" };
  const r = rule ?? DEFAULT_BURST_RULE;
  if (baseline.windows < r.warmupWindows) {
    return { rule: "burst", outcome: "skipped", reason: `learning the baseline (${baseline.windows} of ${r.warmupWindows} windows seen)` };
  }
  const current = history.startedAfter(now - r.windowMs, undefined) + 1;
  const threshold = Math.max(r.minCalls, r.factor * baseline.mean);
  const mean = Math.round(baseline.mean * 10) / 10;
  return current > threshold
    ? { rule: "burst", outcome: "hit", reason: `${current} calls in ${r.windowMs / 60_000} min against a usual ${mean} (threshold ${Math.round(threshold)})` }
    : { rule: "burst", outcome: "pass", reason: `${current} calls in ${r.windowMs / 60_000} min, usual ${mean}` };
}

/** A verdict and what the caller must record: the rolled baseline, and a new suspension on block-and-suspend. */
export interface FraudJudgement {
  readonly verdict: FraudVerdict;
  readonly baseline: Baseline | undefined;
  readonly suspension?: Suspension;
}

/**
 * Judges one outbound call against a customer's history without changing it: every rule is
 * evaluated and reported; the verdict is the most severe action among the rules that fired.
 * The caller records the outcome (the call started on `allow`, the suspension, the baseline).
 */
export function judgeOutboundCall(policy: FraudPolicy, ranges: FraudRanges, history: FraudHistory, call: FraudCall, now: number): FraudJudgement {
  const actions = { ...DEFAULT_FRAUD_ACTIONS, ...policy.actions };
  const burstRule = policy.burst === false ? undefined : (policy.burst ?? DEFAULT_BURST_RULE);
  const baseline = burstRule === undefined ? history.baseline : rollBaseline(history.baseline, burstRule, now);
  const { destination } = call;
  const cls = classifyDestination(destination, policy.countryCode, ranges);
  const results: FraudRuleResult[] = [];

  const suspended = history.suspended;
  results.push(
    suspended !== undefined
      ? { rule: "suspended", outcome: "hit", reason: `outbound calling suspended since ${new Date(suspended.at).toISOString()} (${suspended.rule}: ${suspended.reason})` }
      : { rule: "suspended", outcome: "pass", reason: "not suspended" },
  );

  const allow = longestPrefix(policy.allowPrefixes, destination);
  const deny = longestPrefix(policy.denyPrefixes, destination);
  const denied = deny !== undefined && (allow === undefined || deny.length >= allow.length);
  results.push(
    denied
      ? { rule: "destination-prefix", outcome: "hit", reason: `${destination} matches denied prefix ${deny}` }
      : allow !== undefined
        ? { rule: "destination-prefix", outcome: "pass", reason: `${destination} allowed by prefix ${allow}` }
        : { rule: "destination-prefix", outcome: "pass", reason: `${destination} matches no listed prefix` },
  );

  const enabled: Readonly<Record<DestinationClass, boolean>> = {
    domestic: true,
    international: policy.allowInternational === true,
    premium: policy.allowPremium === true,
    "high-risk": policy.allowHighRisk === true,
  };
  results.push(
    enabled[cls.destinationClass]
      ? { rule: "destination-class", outcome: "pass", reason: `${cls.reason}; ${cls.destinationClass} calls enabled` }
      : allow !== undefined && !denied
        ? { rule: "destination-class", outcome: "pass", reason: `${cls.reason}; exempted by allowed prefix ${allow}` }
        : { rule: "destination-class", outcome: "hit", reason: `${cls.reason}; ${cls.destinationClass} calls not enabled for ${policy.name}` },
  );

  results.push(...classLimitResults(policy, history, cls.destinationClass, now));
  const running = history.runningCost(now);
  results.push(spendResult("daily-spend", policy.dailySpendCap, call.spentToday, running));
  results.push(spendResult("monthly-spend", policy.monthlySpendCap, call.spentThisMonth, running));
  results.push(sequentialResult(policy.sequential, history, destination, now));
  results.push(burstResult(policy.burst, history, baseline, now));

  let decisive: (FraudRuleResult & { readonly action: FraudAction }) | undefined;
  const alerts: SecurityEvent[] = [];
  const judged = results.map((r): FraudRuleResult => {
    if (r.outcome !== "hit") return r;
    const action = actions[r.rule];
    // The first rule of the highest severity decides: rules are listed from the most basic up.
    if (decisive === undefined || SEVERITY[action] > SEVERITY[decisive.action]) decisive = { ...r, action };
    alerts.push({
      rule: `fraud-${r.rule}`,
      action,
      reason: `${policy.name}: ${r.reason}`,
      at: now,
      account: policy.customerId,
      data: {
        customer: policy.name,
        callId: call.callId,
        destination,
        destinationClass: cls.destinationClass,
        rangesVersion: ranges.version,
        ...(cls.range !== undefined ? { range: cls.range.prefix, rangeLabel: cls.range.label } : {}),
      },
    });
    return { ...r, action };
  });
  const kind: FraudAction = decisive?.action ?? "allow";

  const base = { destinationClass: cls.destinationClass, ...(cls.range !== undefined ? { range: cls.range } : {}), results: judged, alerts };
  if (kind === "allow") {
    const reason =
      decisive !== undefined ? `${policy.name}: ${destination} allowed in monitor mode (${decisive.rule}: ${decisive.reason})` : `${policy.name}: ${destination} passed every fraud rule (${cls.destinationClass})`;
    return { verdict: { kind, reason, ...base }, baseline };
  }
  const hit = decisive ?? { rule: "suspended" as const, reason: "blocked" };
  const reason = `${policy.name}: ${destination} ${kind === "block-and-suspend" ? "blocked and trunk suspended" : "blocked"} by ${hit.rule}: ${hit.reason}`;
  const verdict: FraudVerdict = { kind, reason, ...base, refusal: fraudRefusal(hit.rule, reason) };
  return kind === "block-and-suspend" && suspended === undefined ? { verdict, baseline, suspension: { at: now, rule: hit.rule, reason: hit.reason } } : { verdict, baseline };
}
