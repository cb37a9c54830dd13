import { newTag } from "../../lib/index.ts";
import { parseNameAddr } from "./parse-name-addr.ts";
import { parseViaInto } from "./parse-via.ts";
import type { ParseError } from "./types.ts";

function sanitize(detail: string): string {
  // The detail goes inside a quoted-string: drop what could end or escape it, and control characters.
  let out = "";
  for (let i = 0; i < detail.length && out.length < 120; i++) {
    const c = detail.charCodeAt(i);
    if (c >= 32 && c < 127 && c !== 34 && c !== 92) out += detail[i];
  }
  return out;
}

/**
 * Builds the stateless reply to a request that failed to parse: 505 for BAD_VERSION, else 400
 * with the reason in a Warning (RFC 3261 8.2.2, 16.3: "a 400 (Bad Request) response"). Returns
 * null when nothing may be sent: responses and ACKs are never answered (RFC 3261 17.1.1.2),
 * and without a usable top Via there is nowhere to send it (RFC 3261 18.2.2).
 */
export function buildMalformedReply(error: ParseError): Buffer | null {
  if (error.kind !== "request" || error.method === "ACK") return null;
  const s = error.salvage;
  const vias = s?.via;
  if (s === undefined || vias === undefined || vias.length === 0) return null;
  // badvers carries SIP/7.0 in its Via too; the 505 still needs somewhere to go.
  if (parseViaInto(vias[0]!, null, error.code === "BAD_VERSION") === null) return null;
  const status = error.code === "BAD_VERSION" ? 505 : 400;
  let out = "SIP/2.0 " + status + (status === 505 ? " Version Not Supported" : " Bad Request") + "\r\n";
  for (const v of vias) out += "Via: " + v + "\r\n";
  // Single-value headers: only the first copy is echoed, so a 400 to multi01 is itself well formed.
  const from = s.from?.[0];
  if (from !== undefined) out += "From: " + from + "\r\n";
  const to = s.to?.[0];
  if (to !== undefined) {
    const parsed = parseNameAddr(to);
    out += "To: " + to + (parsed !== null && parsed.params["tag"] === undefined ? ";tag=" + newTag() : "") + "\r\n";
  }
  const callId = s["call-id"]?.[0];
  if (callId !== undefined) out += "Call-ID: " + callId + "\r\n";
  const cseq = s.cseq?.[0];
  if (cseq !== undefined) out += "CSeq: " + cseq + "\r\n";
  if (status === 400) out += 'Warning: 399 trunkline "' + sanitize(error.detail) + '"\r\n';
  out += "Content-Length: 0\r\n\r\n";
  return Buffer.from(out, "utf8");
}

