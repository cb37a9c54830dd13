/** An address and port as the transport saw it (IPv6 without brackets). */
export interface LadderEndpoint {
  readonly address: string;
  readonly port: number;
}

/** One SIP message of a call as it crossed our transport: the raw bytes and where they went. */
export interface SipLadderMessage {
  /** Wall-clock epoch milliseconds; the fraction carries microseconds. */
  readonly at: number;
  /** `in`: received by us; `out`: sent by us. */
  readonly direction: "in" | "out";
  /** The B2BUA side: `a` the leg the call came in on, `b` an attempt towards a target. */
  readonly leg: "a" | "b";
  readonly protocol: "UDP" | "TCP" | "TLS";
  readonly local: LadderEndpoint;
  readonly remote: LadderEndpoint;
  /** The message as on the wire (a received TCP/TLS message as re-serialized from its parse). */
  readonly raw: Uint8Array;
}

/**
 * SIP ladders of ended calls, keyed by our call id (the CDR id). Written once when a call ends,
 * read by the API, and pruned after the configured retention.
 */
export interface SipLadderRepository {
  /** Stores the ladder of an ended call (replacing any earlier one); resolves once durable. */
  save(callId: string, savedAt: number, messages: readonly SipLadderMessage[]): Promise<void>;
  /** The messages of a call in capture order, or undefined when none were kept. */
  get(callId: string): Promise<SipLadderMessage[] | undefined>;
  /** Deletes the ladders saved before `before` (epoch ms); resolves how many. */
  prune(before: number): Promise<number>;
}
