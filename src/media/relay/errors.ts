/** Stable codes for the relay's operational failures; callers branch on these, never on messages. */
export type MediaRelayErrorCode =
  /** Every port pair of the range is taken: the call layer answers 503. */
  | "MEDIA_PORTS_EXHAUSTED"
  /** A socket could not be bound for a reason other than the port being in use. */
  | "MEDIA_BIND_FAILED"
  /** Options that cannot work (bad address, empty or inverted port range). */
  | "MEDIA_BAD_OPTIONS"
  /** The relay or session was closed before or during the request. */
  | "MEDIA_CLOSED"
  /** An SDP body that the relay cannot anchor (no address, unknown stream). */
  | "MEDIA_BAD_SDP"
  /** The leg's trunk requires SRTP and its peer offered or answered no usable a=crypto: answer 488. */
  | "MEDIA_SRTP_REQUIRED"
  /** RTP/SAVP whose crypto the relay cannot use (unknown suites, SRTP off for the leg): answer 488. */
  | "MEDIA_SRTP_UNSUPPORTED"
  /** No codec both legs accept and none the relay can transcode (only PCMU<->PCMA): answer 488. */
  | "MEDIA_CODEC_MISMATCH";

/** Codes of negotiation failures the call layer answers with 488 Not Acceptable Here. */
export const MEDIA_NOT_ACCEPTABLE: ReadonlySet<MediaRelayErrorCode> = new Set<MediaRelayErrorCode>([
  "MEDIA_SRTP_REQUIRED",
  "MEDIA_SRTP_UNSUPPORTED",
  "MEDIA_CODEC_MISMATCH",
]);

/** An operational failure of the media relay, with a stable code and the underlying cause. */
export class MediaRelayError extends Error {
  override readonly name = "MediaRelayError";
  constructor(
    readonly code: MediaRelayErrorCode,
    message: string,
    options?: { cause?: unknown; warnCode?: 305 | 302 },
  ) {
    super(message, options);
    this.warnCode = options?.warnCode;
  }

  /** RFC 3261 20.43 Warning code for a 488 (302 incompatible transport, 305 media format); message is its text. */
  readonly warnCode: 305 | 302 | undefined;
}

/** True when value is a MediaRelayError with the given code. */
export function isMediaRelayError(value: unknown, code?: MediaRelayErrorCode): value is MediaRelayError {
  return value instanceof MediaRelayError && (code === undefined || value.code === code);
}
