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
  | "MEDIA_BAD_SDP";

/** An operational failure of the media relay, with a stable code and the underlying cause. */
export class MediaRelayError extends Error {
  override readonly name = "MediaRelayError";
  constructor(
    readonly code: MediaRelayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when value is a MediaRelayError with the given code. */
export function isMediaRelayError(value: unknown, code?: MediaRelayErrorCode): value is MediaRelayError {
  return value instanceof MediaRelayError && (code === undefined || value.code === code);
}
