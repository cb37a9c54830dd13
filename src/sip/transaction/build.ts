import { newTag } from "../../lib/index.ts";
import { createResponse, type SipRequest, type SipResponse, type Via } from "../message/index.ts";

const EMPTY = Buffer.alloc(0);

/** RFC 3261 8.1.1.7: a branch starting with this cookie was made by an RFC 3261 element. */
export const MAGIC_COOKIE = "z9hG4bK";

/**
 * A copy of s that is one flat string of its own. A string cut out of a received message can
 * keep that whole message's text alive, and one joined from pieces keeps every piece: a
 * transaction or dialog that lives for the whole call should keep neither.
 */
export function detached(s: string): string {
  const joined = " " + s;
  // Reading a character makes V8 flatten the joined string: a fresh copy of s's characters.
  joined.charCodeAt(0);
  return joined.slice(1);
}

/** s as one flat string: a string joined from pieces (a + b) otherwise keeps every piece. */
export function flat(s: string): string {
  // Reading a character makes V8 flatten the string in place; the collector drops the pieces.
  s.charCodeAt(0);
  return s;
}

/** The top Via branch, or null when absent. */
export function topBranch(message: SipRequest | SipResponse): string | null {
  const top = message.via[0];
  if (top === undefined) return null;
  const branch = top.params["branch"];
  return branch === undefined || branch === null ? null : branch;
}

/** A local response the client transaction hands its TU on timeout (408) or transport failure (503). */
export function synthesizeResponse(request: SipRequest, status: 408 | 503): SipResponse {
  return createResponse(request, status);
}

/** A To tag for final responses the layer makes up itself (481, 503 without a TU). */
export function freshTag(): string {
  return newTag();
}

/**
 * RFC 3261 17.1.1.3: the ACK for a non-2xx final response, built by the INVITE client transaction.
 * Same Request-URI, Call-ID, From and CSeq number as the INVITE, To from the response, only the top
 * Via of the INVITE, and the INVITE's Route header fields.
 */
export function buildNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const top = invite.via[0];
  return {
    kind: "request",
    method: "ACK",
    uri: invite.uri,
    via: top === undefined ? [] : [top],
    from: invite.from,
    to: response.to,
    callId: invite.callId,
    cseq: { seq: invite.cseq.seq, method: "ACK" },
    contact: [],
    contactWildcard: false,
    route: invite.route,
    recordRoute: [],
    maxForwards: 70,
    contentType: null,
    headers: [],
    body: EMPTY,
  };
}

/**
 * RFC 3261 9.1: the CANCEL for a request: same Request-URI, Call-ID, To, From and CSeq number
 * (method CANCEL), a single Via equal to the request's top Via (same branch), and the same Route.
 */
export function buildCancel(request: SipRequest, reason?: string): SipRequest {
  const top = request.via[0];
  return {
    kind: "request",
    method: "CANCEL",
    uri: request.uri,
    via: top === undefined ? [] : [top],
    from: request.from,
    to: request.to,
    callId: request.callId,
    cseq: { seq: request.cseq.seq, method: "CANCEL" },
    contact: [],
    contactWildcard: false,
    route: request.route,
    recordRoute: [],
    maxForwards: 70,
    contentType: null,
    headers: reason === undefined ? [] : [{ name: "Reason", value: reason }],
    body: EMPTY,
  };
}
