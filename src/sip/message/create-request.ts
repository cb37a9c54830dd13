import type { CSeq, HeaderField, NameAddr, SipRequest, Uri, Via } from "./types.ts";

/** What a request is built from; everything but the dialog identifiers has a default. */
export interface RequestInit {
  method: string;
  uri: Uri;
  from: NameAddr;
  to: NameAddr;
  callId: string;
  /** A number takes the request's method; a CSeq is used as given. */
  cseq: number | CSeq;
  /** Top first; the transport layer normally pushes the top Via itself. Default empty. */
  via?: readonly Via[];
  contact?: readonly NameAddr[];
  contactWildcard?: boolean;
  route?: readonly NameAddr[];
  recordRoute?: readonly NameAddr[];
  /** Default 70 (RFC 3261 8.1.1.6); null leaves the header out. */
  maxForwards?: number | null;
  contentType?: string | null;
  headers?: readonly HeaderField[];
  body?: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Builds a request with RFC 3261 8.1.1 defaults (Max-Forwards 70, empty lists and body). */
export function createRequest(init: RequestInit): SipRequest {
  return {
    kind: "request",
    method: init.method,
    uri: init.uri,
    via: init.via ?? [],
    from: init.from,
    to: init.to,
    callId: init.callId,
    cseq: typeof init.cseq === "number" ? { seq: init.cseq, method: init.method } : init.cseq,
    contact: init.contact ?? [],
    contactWildcard: init.contactWildcard ?? false,
    route: init.route ?? [],
    recordRoute: init.recordRoute ?? [],
    maxForwards: init.maxForwards === undefined ? 70 : init.maxForwards,
    contentType: init.contentType ?? null,
    headers: init.headers ?? [],
    body: init.body ?? EMPTY,
  };
}
