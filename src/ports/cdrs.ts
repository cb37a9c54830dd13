import type { Direction } from "../domain/index.ts";

/** One step of a call's decision trace: what the pipeline checked or did, and what came of it. */
export interface TraceEntry {
  /** Wall-clock epoch milliseconds. */
  readonly at: number;
  /** Pipeline step, e.g. `identify`, `authenticate`, `admit`, `normalize`, `route`, `attempt`, `end`. */
  readonly step: string;
  readonly result: "pass" | "refuse" | "info" | "error";
  /** One sentence an operator can read. */
  readonly detail: string;
  readonly data?: Readonly<Record<string, string | number | boolean | null>>;
}

/** One attempt to reach a target (a carrier gateway, or a customer's contact / failover URI). */
export interface CdrAttempt {
  readonly target: string;
  readonly carrierId: string | null;
  readonly gatewayId: string | null;
  readonly startedAt: number;
  readonly endedAt: number | null;
  /** Final SIP status received (or synthesized 408/503), null while pending or when cancelled before any. */
  readonly status: number | null;
  readonly outcome: "answered" | "response" | "timeout" | "transport-error" | "cancelled";
}

/** Every Disposition, for checking input from the CLI and the API. */
export const DISPOSITIONS = ["answered", "busy", "no-answer", "cancelled", "failed", "refused", "interrupted"] as const satisfies readonly Disposition[];
/** How a call ended, in the words operators search by. */
export type Disposition = "answered" | "busy" | "no-answer" | "cancelled" | "failed" | "refused" | "interrupted";

/** A call detail record: one per call attempt from a PBX or a carrier, with its decision trace. */
export interface CallDetailRecord {
  /** Our own id for the call (not a SIP Call-ID). */
  readonly id: string;
  /** Call-ID of the leg the call came in on. */
  readonly callId: string;
  readonly direction: Direction;
  readonly customerId: string | null;
  readonly carrierId: string | null;
  readonly attempts: readonly CdrAttempt[];
  /** Caller and callee as received (URI user parts) and as normalized to E.164 (null when not normalizable). */
  readonly callerRaw: string;
  readonly calleeRaw: string;
  readonly callerE164: string | null;
  readonly calleeE164: string | null;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly ringingAt: number | null;
  readonly answeredAt: number | null;
  readonly endedAt: number | null;
  /** Answered time in milliseconds (0 when never answered). */
  readonly durationMs: number;
  /** Final SIP status given to the caller (200 for answered calls). */
  readonly finalStatus: number | null;
  readonly q850Cause: number | null;
  readonly disposition: Disposition | null;
  readonly hangupBy: "caller" | "callee" | "system" | null;
  /** Why the call ended, readable (e.g. "BYE from caller", "max duration 7200 s reached"). */
  readonly endReason: string | null;
  readonly ratePerMinute: number | null;
  readonly cost: number | null;
  readonly currency: string | null;
  readonly trace: readonly TraceEntry[];
  /** Media quality when the call was relayed (absent for direct media and unanswered calls). */
  readonly media?: CallMediaQuality;
}

/** One direction of one leg: from the leg's endpoint to the relay (`received`) or back (`sent`). */
export interface MediaDirectionQuality {
  readonly packets: number;
  readonly lost?: number;
  readonly jitterMs?: number;
  readonly rttMs?: number;
  readonly mos?: number;
}

/** One leg's media in the CDR. */
export interface LegMediaQuality {
  readonly codec?: string;
  readonly srtp: boolean;
  readonly received: MediaDirectionQuality;
  readonly sent: MediaDirectionQuality;
}

/** A call's media quality (first stream) per leg, `a` the caller's side. */
export interface CallMediaQuality {
  readonly a: LegMediaQuality;
  readonly b: LegMediaQuality;
}

/** Filters for CDR search; all optional, combined with AND. */
export interface CdrQuery {
  /** startedAt >= from (epoch ms). */
  readonly from?: number;
  /** startedAt < to (epoch ms). */
  readonly to?: number;
  /** Customer or carrier id. */
  readonly trunkId?: string;
  /** Matches caller or callee, raw or E.164, by substring. */
  readonly number?: string;
  readonly disposition?: Disposition;
  /** Rows per page; default 100. */
  readonly limit?: number;
  readonly offset?: number;
}

/**
 * Call detail records. A record is opened when a call is admitted (so a crash leaves a row that the
 * next start closes as interrupted) and closed once when the call ends; a closed record is durable
 * when close() resolves.
 */
export interface CdrRepository {
  /** Writes the record of a call in progress (endedAt null). */
  open(record: CallDetailRecord): Promise<void>;
  /** Writes the final record, replacing the open one. */
  close(record: CallDetailRecord): Promise<void>;
  /** Closes every record still open as `interrupted` at `now`; resolves how many. Run at start. */
  closeInterrupted(now: number): Promise<number>;
  get(id: string): Promise<CallDetailRecord | undefined>;
  /** Newest first (startedAt, then id, descending); `total` counts every match, not only this page. */
  search(query: CdrQuery): Promise<{ readonly rows: CallDetailRecord[]; readonly total: number }>;
}
