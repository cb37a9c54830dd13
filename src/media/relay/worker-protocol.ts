/**
 * Messages between the main thread (worker-relay.ts) and a relay worker (relay-worker.ts).
 * Everything here crosses postMessage, so it is plain data: SDP as its parsed object, errors as
 * code and text, events and quality reports as the relay makes them.
 */
import type { SessionDescription } from "../../sdp/index.ts";
import type { MediaRelayErrorCode } from "./errors.ts";
import type { MediaSessionEvent, MediaSessionOptions, OfferOptions, RelaySettings, StreamQuality } from "./media-relay.ts";
import type { LegName } from "./relay-session.ts";

/** What a worker's relay is created with: its own slice of the port range and the shared settings. */
export interface WorkerRelayInit extends RelaySettings {
  readonly index: number;
  /** How often the worker pushes the quality of its answered sessions; 0: only on request and at close. */
  readonly reportIntervalMs: number;
  /** Forward debug-level relay logs (off unless the main logger wants them: they come per offer). */
  readonly debug: boolean;
}

/** The relay's RTP ports of one stream towards each leg (null: stream not anchored). */
export type StreamPorts = { readonly a: number; readonly b: number } | null;

/** What an offer or answer returns besides the body: the state the main side keeps a copy of. */
export interface AnchoredReply {
  readonly sdp: SessionDescription;
  readonly held: boolean;
  readonly ports: readonly StreamPorts[];
}

/** Requests from the main thread. Those with an id get exactly one reply. */
export type ToWorker =
  | { readonly op: "create"; readonly session: string; readonly options: MediaSessionOptions }
  | { readonly op: "offer"; readonly id: number; readonly session: string; readonly from: LegName; readonly sdp: SessionDescription; readonly options: OfferOptions }
  | { readonly op: "answer"; readonly id: number; readonly session: string; readonly from: LegName; readonly sdp: SessionDescription }
  | { readonly op: "start"; readonly session: string }
  | { readonly op: "dtmf"; readonly id: number; readonly session: string; readonly toLeg: LegName; readonly digit: string; readonly durationMs: number }
  | { readonly op: "close"; readonly id: number; readonly session: string }
  /** Pushes every session's quality now, then replies with the ports in use. */
  | { readonly op: "report"; readonly id: number }
  | { readonly op: "shutdown"; readonly id: number }
  /** Throws inside the worker, as a relay bug would: tests of the main side's recovery. */
  | { readonly op: "crash"; readonly message: string };

/** A failure as it crosses the thread boundary. */
export interface WorkerError {
  readonly code: MediaRelayErrorCode | undefined;
  readonly message: string;
  readonly warnCode: 305 | 302 | undefined;
}

/** One session's quality per stream (null: no such stream). */
export interface SessionReport {
  readonly session: string;
  readonly streams: readonly (StreamQuality | null)[];
  readonly held: boolean;
}

/** Messages from a worker. */
export type FromWorker =
  | { readonly type: "reply"; readonly id: number; readonly ok: true; readonly value: AnchoredReply | boolean | number | SessionReport | null }
  | { readonly type: "reply"; readonly id: number; readonly ok: false; readonly error: WorkerError }
  | { readonly type: "event"; readonly session: string; readonly event: MediaSessionEvent; readonly held: boolean }
  | { readonly type: "reports"; readonly reports: readonly SessionReport[]; readonly portsInUse: number }
  | { readonly type: "log"; readonly level: "debug" | "info" | "warn"; readonly obj: object; readonly msg: string };
