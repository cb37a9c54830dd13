import { getHeaders, type HeaderField, type SipRequest } from "./message/index.ts";

/** Methods this stack recognises (RFC 3261 and the common extensions); anything else is 501. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY",
  "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
]);

/** What a user agent server says about itself in Allow, Supported and Accept. */
export interface UasCapabilities {
  /** Methods served; answered in Allow. */
  readonly allow: readonly string[];
  /** Option tags understood in Require (RFC 3261 8.2.2.3); answered in Supported. */
  readonly supported: readonly string[];
  /** Body types understood; answered in Accept. */
  readonly accept: readonly string[];
}

/** A response decided without any application state. */
export interface DefaultResponse {
  readonly status: number;
  readonly reason?: string;
  readonly headers: HeaderField[];
}

const SCHEMES = new Set(["sip", "sips", "tel"]);

function allowHeader(caps: UasCapabilities): HeaderField {
  return { name: "Allow", value: caps.allow.join(", ") };
}

/**
 * The checks of RFC 3261 8.2.1-8.2.3 that every request passes before the application sees it.
 * Returns the refusal, or null when the request may go on to its handler.
 */
export function checkRequest(request: SipRequest, caps: UasCapabilities): DefaultResponse | null {
  const method = request.method;
  if (method === "ACK") return null;
  // 8.2.1: "If a UAS does not understand a request method, it MUST respond with 501 (Not Implemented)."
  if (!KNOWN_METHODS.has(method)) {
    return { status: 501, headers: [allowHeader(caps)] };
  }
  if (!caps.allow.includes(method)) {
    return { status: 405, headers: [allowHeader(caps)] };
  }
  // 8.2.2.1: an unsupported Request-URI scheme gets 416; never route on the To header instead.
  if (!SCHEMES.has(request.uri.scheme)) {
    return { status: 416, headers: [] };
  }
  // 8.2.2.3: unknown option tags in Require get 420 listing them in Unsupported (never for CANCEL).
  if (method !== "CANCEL") {
    const unsupported = getHeaders(request, "Require")
      .map((t) => t.trim())
      .filter((t) => t !== "" && !caps.supported.some((s) => s.toLowerCase() === t.toLowerCase()));
    if (unsupported.length > 0) {
      return { status: 420, headers: [{ name: "Unsupported", value: unsupported.join(", ") }] };
    }
  }
  // 8.2.3: a body of a type we do not understand gets 415 with what we accept.
  if (request.body.length > 0 && request.contentType !== null && method !== "CANCEL") {
    const type = mediaType(request.contentType);
    if (!caps.accept.some((a) => a.toLowerCase() === type) && !isPassThroughType(type)) {
      return { status: 415, headers: [{ name: "Accept", value: caps.accept.join(", ") }] };
    }
  }
  // 8.2.3 with 21.4.7: a response must be describable in a type the client accepts; ours carry SDP.
  if (method === "INVITE" || method === "OPTIONS") {
    const accepts = getHeaders(request, "Accept").map((a) => mediaType(a));
    if (accepts.length > 0 && !accepts.some((a) => a === "*/*" || a === "application/*" || caps.accept.includes(a))) {
      return { status: 406, headers: [{ name: "Accept", value: caps.accept.join(", ") }] };
    }
  }
  return null;
}

/** Types a B2BUA carries across without understanding (multipart wrappers, ISUP, DTMF relay). */
function isPassThroughType(type: string): boolean {
  return type.startsWith("multipart/") || type === "application/isup" || type === "application/dtmf-relay" || type === "application/dtmf";
}

/** The bare `type/subtype` of a Content-Type or Accept value, lower-cased. */
export function mediaType(value: string): string {
  const semi = value.indexOf(";");
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
}

/**
 * The answer to a request no application handler claimed: OPTIONS is answered 200 with our
 * capabilities (RFC 3261 11.2), an in-dialog request with no dialog gets 481 (12.2.2), and
 * a request for a target we do not serve gets 404.
 */
export function unhandledResponse(request: SipRequest, caps: UasCapabilities): DefaultResponse | null {
  switch (request.method) {
    case "ACK":
      return null;
    case "OPTIONS":
      if (request.to.params["tag"] === undefined) {
        return {
          status: 200,
          headers: [
            allowHeader(caps),
            { name: "Accept", value: caps.accept.join(", ") },
            { name: "Supported", value: caps.supported.join(", ") },
          ],
        };
      }
      return { status: 481, headers: [] };
    case "BYE":
    case "PRACK":
    case "UPDATE":
    case "INFO":
    case "NOTIFY":
      return { status: 481, headers: [] };
    default:
      return { status: request.to.params["tag"] !== undefined ? 481 : 404, headers: [] };
  }
}
