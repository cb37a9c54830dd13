// For domain tests only (not exported from index.ts): the fraud history as plain lists, answered by
// scanning. It is the simple model the rule tests drive and the oracle FraudLedger is checked
// against; production judges with `judgeOutboundCall` over a FraudLedger (src/call/fraud-engine.ts).
import {
  DEFAULT_BURST_RULE,
  DEFAULT_SEQUENTIAL_RULE,
  judgeOutboundCall,
  rollBaseline,
  type Baseline,
  type DestinationClass,
  type FraudCall,
  type FraudHistory,
  type FraudPolicy,
  type FraudVerdict,
  type Suspension,
} from "../../src/domain/fraud.ts";
import type { FraudRanges } from "../../src/domain/fraud-ranges.ts";
import type { E164 } from "../../src/domain/types.ts";

/** A call in progress, as the engine remembers it. */
export interface ActiveCall {
  readonly callId: string;
  readonly destination: E164;
  readonly destinationClass: DestinationClass;
  readonly startedAt: number;
  readonly ratePerMinute: number;
}

/** A recent call start (kept for the per-minute, sequential and burst rules). */
export interface RecentCall {
  readonly at: number;
  readonly destination: E164;
  readonly destinationClass: DestinationClass;
}


/** Per-customer history as a value, replaced on every call start, end and verdict. */
export interface FraudState {
  readonly active: readonly ActiveCall[];
  readonly recent: readonly RecentCall[];
  readonly baseline?: Baseline;
  readonly suspended?: Suspension;
}

/** A customer with no history. */
export const EMPTY_FRAUD_STATE: FraudState = { active: [], recent: [] };


/** A verdict and the state to store: on `allow` the call is counted as started (end it with `fraudCallEnded`). */
export interface FraudEvaluation {
  readonly verdict: FraudVerdict;
  readonly state: FraudState;
}


/** Estimated cost so far of the calls in progress, from their rates and start times. */
export function runningCost(state: FraudState, now: number): number {
  let sum = 0;
  for (const c of state.active) sum += (c.ratePerMinute * Math.max(0, now - c.startedAt)) / 60_000;
  return sum;
}


/** A FraudState read as history (by scanning its lists). */
export function stateHistory(state: FraudState): FraudHistory {
  return {
    suspended: state.suspended,
    baseline: state.baseline,
    activeCount: (cls) => (cls === undefined ? state.active.length : state.active.filter((c) => c.destinationClass === cls).length),
    startedAfter: (after, cls) => state.recent.filter((c) => c.at > after && (cls === undefined || c.destinationClass === cls)).length,
    distinctNumbers(destination, stem, after) {
      const numbers = new Set<string>([destination]);
      for (const c of state.recent) if (c.at > after && c.destination.length === destination.length && c.destination.startsWith(stem)) numbers.add(c.destination);
      return numbers.size;
    },
    runningCost: (now) => runningCost(state, now),
  };
}


/**
 * Judges one outbound call of a customer: every rule is evaluated and reported; the verdict is the
 * most severe action among the rules that fired. On `allow` the returned state counts the call as
 * started; on `block-and-suspend` it carries the suspension.
 */
export function evaluateOutboundCall(policy: FraudPolicy, ranges: FraudRanges, state: FraudState, call: FraudCall, now: number): FraudEvaluation {
  const { verdict, baseline, suspension } = judgeOutboundCall(policy, ranges, stateHistory(state), call, now);
  const withBaseline: FraudState = baseline === undefined ? state : { ...state, baseline };
  if (verdict.kind === "allow") {
    const started = fraudCallStarted(withBaseline, { callId: call.callId, destination: call.destination, destinationClass: verdict.destinationClass, ratePerMinute: call.ratePerMinute ?? 0 }, now, policy);
    return { verdict, state: started };
  }
  return { verdict, state: suspension !== undefined ? { ...withBaseline, suspended: suspension } : withBaseline };
}

// Bounds the history a runaway customer can build between sweeps; far above any rule's need.
const MAX_RECENT = 10_000;

/** The state after a call starts (done by `evaluateOutboundCall` on allow). */
export function fraudCallStarted(
  state: FraudState,
  call: { readonly callId: string; readonly destination: E164; readonly destinationClass: DestinationClass; readonly ratePerMinute: number },
  now: number,
  policy?: Pick<FraudPolicy, "sequential" | "burst">,
): FraudState {
  const burst = policy?.burst === false ? undefined : (policy?.burst ?? DEFAULT_BURST_RULE);
  const sequential = policy?.sequential === false ? undefined : (policy?.sequential ?? DEFAULT_SEQUENTIAL_RULE);
  const keepMs = Math.max(60_000, sequential?.windowMs ?? 0, burst?.windowMs ?? 0);
  const recent = state.recent.filter((c) => now - c.at < keepMs);
  recent.push({ at: now, destination: call.destination, destinationClass: call.destinationClass });
  if (recent.length > MAX_RECENT) recent.splice(0, recent.length - MAX_RECENT);
  const active = [...state.active.filter((c) => c.callId !== call.callId), { ...call, startedAt: now }];
  let baseline = state.baseline;
  if (burst !== undefined) {
    const rolled = rollBaseline(baseline, burst, now);
    baseline = { ...rolled, count: rolled.count + 1 };
  }
  return { ...state, active, recent, ...(baseline !== undefined ? { baseline } : {}) };
}

/** The state after a call ends, on every way it can end; unknown call ids are ignored. */
export function fraudCallEnded(state: FraudState, callId: string): FraudState {
  if (!state.active.some((c) => c.callId === callId)) return state;
  return { ...state, active: state.active.filter((c) => c.callId !== callId) };
}


/** Lifts a suspension (what an operator does through the API or CLI). */
export function liftSuspension(state: FraudState): FraudState {
  if (state.suspended === undefined) return state;
  const { suspended: _lifted, ...rest } = state;
  return rest;
}
