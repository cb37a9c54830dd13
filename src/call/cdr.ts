import { randomToken } from "../lib/index.ts";
import type { Direction } from "../domain/index.ts";
import type { CallDetailRecord, CdrAttempt, Disposition, TraceEntry } from "../ports/index.ts";

type TraceData = Readonly<Record<string, string | number | boolean | null>>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/**
 * The fields of one trace entry in a row of the flat trace array: at (milliseconds since the
 * draft was made: a small integer is stored inline, an epoch time as a 16-byte heap number),
 * step, result, detail, data.
 */
type TraceSlot = number | string | TraceData | undefined;
const TRACE_WIDTH = 5;

/**
 * A call's CDR while the call runs: the pipeline and the B2BUA write into it, and `record()`
 * gives the immutable row to store. One draft per call attempt from a PBX or a carrier.
 */
export class CdrDraft {
  private readonly fields: Mutable<Omit<CallDetailRecord, "attempts" | "trace">>;
  private attempts: Mutable<CdrAttempt>[] = [];
  /**
   * The decision trace, flat: TRACE_WIDTH slots per entry. A held call keeps its trace (about a
   * dozen entries) for its whole life, and an object per entry cost more than its text.
   */
  private traceSlots: TraceSlot[] = [];
  /** Wall time the trace's `at` values count from. */
  private readonly traceBase: number;

  constructor(
    private readonly wallNow: () => number,
    init: { callId: string; direction: Direction; callerRaw: string; calleeRaw: string },
  ) {
    this.traceBase = wallNow();
    this.fields = {
      id: randomToken(12),
      callId: init.callId,
      direction: init.direction,
      customerId: null,
      carrierId: null,
      callerRaw: init.callerRaw,
      calleeRaw: init.calleeRaw,
      callerE164: null,
      calleeE164: null,
      startedAt: this.traceBase,
      ringingAt: null,
      answeredAt: null,
      endedAt: null,
      durationMs: 0,
      finalStatus: null,
      q850Cause: null,
      disposition: null,
      hangupBy: null,
      endReason: null,
      ratePerMinute: null,
      cost: null,
      currency: null,
    };
  }

  /** Our id of the call (CDR primary key). */
  get id(): string {
    return this.fields.id;
  }

  /** Sets plain fields (trunks, numbers, times, outcome). */
  set(values: Partial<Omit<CallDetailRecord, "id" | "attempts" | "trace">>): void {
    Object.assign(this.fields, values);
  }

  /** The current value of a field. */
  get<K extends keyof CallDetailRecord>(key: K): CallDetailRecord[K] | undefined {
    if (key === "attempts") return this.attempts as unknown as CallDetailRecord[K];
    if (key === "trace") return this.traceEntries() as unknown as CallDetailRecord[K];
    return (this.fields as unknown as CallDetailRecord)[key];
  }

  /** Appends one decision-trace entry. */
  trace(step: string, result: TraceEntry["result"], detail: string, data?: TraceData): void {
    // A detail made with a template literal is a tree of string pieces (~190 bytes for 50
    // characters); reading a character makes V8 flatten it into one string (~70 bytes).
    detail.charCodeAt(0);
    this.traceSlots.push(this.wallNow() - this.traceBase, step, result, detail, data);
  }

  /** The trace as entries, oldest first. */
  private traceEntries(): TraceEntry[] {
    const out: TraceEntry[] = [];
    const s = this.traceSlots;
    for (let i = 0; i < s.length; i += TRACE_WIDTH) {
      const at = this.traceBase + (s[i] as number);
      const step = s[i + 1] as string;
      const result = s[i + 2] as TraceEntry["result"];
      const detail = s[i + 3] as string;
      const data = s[i + 4] as TraceData | undefined;
      out.push(data === undefined ? { at, step, result, detail } : { at, step, result, detail, data });
    }
    return out;
  }

  /** Starts an attempt and returns its index for attemptEnd. */
  attemptStart(target: string, carrierId: string | null, gatewayId: string | null): number {
    this.attempts.push({ target, carrierId, gatewayId, startedAt: this.wallNow(), endedAt: null, status: null, outcome: "cancelled" });
    return this.attempts.length - 1;
  }

  /** Ends an attempt once; later calls for the same index are ignored. */
  attemptEnd(index: number, outcome: CdrAttempt["outcome"], status: number | null): void {
    const a = this.attempts[index];
    if (a === undefined || a.endedAt !== null) return;
    a.endedAt = this.wallNow();
    a.outcome = outcome;
    a.status = status;
  }

  /**
   * Lets go of the spare room the trace and attempt lists grew with (an array grown by push keeps
   * up to half again its length, and one attempt gets room for 17): called once a call is
   * answered, as it may now be held for hours.
   */
  compact(): void {
    this.traceSlots = this.traceSlots.slice();
    this.attempts = this.attempts.slice();
  }

  /** The row as it stands now. */
  record(): CallDetailRecord {
    return { ...this.fields, attempts: this.attempts.map((a) => ({ ...a })), trace: this.traceEntries() };
  }
}

/** The disposition operators search by, from how a call ended. */
export function dispositionOf(answered: boolean, status: number | null, cancelled: boolean): Disposition {
  if (answered) return "answered";
  if (cancelled) return "cancelled";
  if (status === 486 || status === 600) return "busy";
  if (status === 408 || status === 480 || status === 487) return "no-answer";
  return "failed";
}
