import { reasonPhrase } from "./reason-phrases.ts";
import { withParam } from "./edit.ts";
import type { HeaderField, SipRequest, SipResponse } from "./types.ts";

/** Options of createResponse. */
export interface ResponseOptions {
  /** To tag to add when the request's To has none (ignored for 100 Trying). */
  toTag?: string;
  headers?: readonly HeaderField[];
  body?: Buffer;
  contentType?: string;
}

const EMPTY = Buffer.alloc(0);

/**
 * Builds a response to `request` per RFC 3261 8.2.6.2: Via (all, in order), From, Call-ID and
 * CSeq copied; To copied with `toTag` added when it has none, except on a 100, which never gets one.
 * The values are shared with the request: they are immutable, so neither can change the other.
 */
export function createResponse(request: SipRequest, status: number, reason?: string, options?: ResponseOptions): SipResponse {
  const tag = request.to.params["tag"];
  const to = options?.toTag !== undefined && status !== 100 && (tag === undefined || tag === null) ? withParam(request.to, "tag", options.toTag) : request.to;
  return {
    kind: "response",
    status,
    reason: reason ?? reasonPhrase(status),
    via: request.via,
    from: request.from,
    to,
    callId: request.callId,
    cseq: request.cseq,
    contact: [],
    contactWildcard: false,
    route: [],
    recordRoute: [],
    maxForwards: null,
    contentType: options?.contentType ?? null,
    headers: options?.headers ?? [],
    body: options?.body ?? EMPTY,
  };
}
