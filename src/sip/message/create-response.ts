import { reasonPhrase } from "./reason-phrases.ts";
import type { HeaderField, NameAddr, SipRequest, SipResponse, Via } from "./types.ts";

/** Options of createResponse. */
export interface ResponseOptions {
  /** To tag to add when the request's To has none (ignored for 100 Trying). */
  toTag?: string;
  headers?: HeaderField[];
  body?: Buffer;
  contentType?: string;
}

const EMPTY = Buffer.alloc(0);

function copyVia(v: Via): Via {
  return { transport: v.transport, host: v.host, port: v.port, params: { ...v.params } };
}

function copyNameAddr(v: NameAddr): NameAddr {
  return { displayName: v.displayName, uri: v.uri, params: { ...v.params } };
}

/**
 * Builds a response to `request` per RFC 3261 8.2.6.2: Via (all, in order), From, Call-ID and
 * CSeq copied; To copied with `toTag` added when it has none, except on a 100, which never gets one.
 * Values are copied so editing the response never changes the request.
 */
export function createResponse(request: SipRequest, status: number, reason?: string, options?: ResponseOptions): SipResponse {
  const to = copyNameAddr(request.to);
  if (options?.toTag !== undefined && status !== 100 && (to.params["tag"] === undefined || to.params["tag"] === null)) {
    to.params["tag"] = options.toTag;
  }
  return {
    kind: "response",
    status,
    reason: reason ?? reasonPhrase(status),
    via: request.via.map(copyVia),
    from: copyNameAddr(request.from),
    to,
    callId: request.callId,
    cseq: { seq: request.cseq.seq, method: request.cseq.method },
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
