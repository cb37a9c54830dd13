// CDRs made up for the capacity planner's tests (CLI and HTTP run the same domain code on them).
import type { CallDetailRecord } from "../../src/ports/index.ts";

/**
 * A closed outbound call of `seconds` talk time that started at `startedAt`: answered after one
 * second when seconds > 0, else refused busy (486); all the planner reads is time, trunk and outcome.
 */
export function plannedCall(id: string, startedAt: number, seconds: number, customerId: string | null, carrierId: string | null): CallDetailRecord {
  const answered = seconds > 0;
  return {
    id,
    callId: `${id}@127.0.1.1`,
    direction: "outbound",
    customerId,
    carrierId,
    attempts: [],
    callerRaw: "+15550100001",
    calleeRaw: "+12125550100",
    callerE164: "+15550100001",
    calleeE164: "+12125550100",
    startedAt,
    ringingAt: null,
    answeredAt: answered ? startedAt + 1000 : null,
    endedAt: startedAt + 1000 + seconds * 1000,
    durationMs: seconds * 1000,
    finalStatus: answered ? 200 : 486,
    q850Cause: answered ? 16 : 17,
    disposition: answered ? "answered" : "busy",
    hangupBy: "caller",
    endReason: answered ? "BYE from caller" : "486 from carrier",
    ratePerMinute: null,
    cost: null,
    currency: null,
    trace: [],
  };
}
