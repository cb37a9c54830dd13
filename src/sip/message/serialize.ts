import { serializeNameAddr } from "./parse-name-addr.ts";
import { serializeUri } from "./parse-uri.ts";
import { serializeVia } from "./parse-via.ts";
import type { NameAddr, SipMessage } from "./types.ts";

function nameAddrList(list: readonly NameAddr[]): string {
  let out = serializeNameAddr(list[0]!);
  for (let k = 1; k < list.length; k++) out += ", " + serializeNameAddr(list[k]!);
  return out;
}

/** Writes the start line and the header section (through the empty line) as one string. */
export function serializeHead(m: SipMessage): string {
  let s = m.kind === "request" ? m.method + " " + serializeUri(m.uri) + " SIP/2.0\r\n" : "SIP/2.0 " + m.status + " " + m.reason + "\r\n";
  // One Via per line: proxies push and pop the top value, and per-line values keep that cheap for peers too.
  const via = m.via;
  for (let k = 0; k < via.length; k++) s += "Via: " + serializeVia(via[k]!) + "\r\n";
  if (m.route.length > 0) s += "Route: " + nameAddrList(m.route) + "\r\n";
  if (m.recordRoute.length > 0) s += "Record-Route: " + nameAddrList(m.recordRoute) + "\r\n";
  if (m.maxForwards !== null) s += "Max-Forwards: " + m.maxForwards + "\r\n";
  s += "From: " + serializeNameAddr(m.from) + "\r\nTo: " + serializeNameAddr(m.to) + "\r\nCall-ID: " + m.callId + "\r\nCSeq: " + m.cseq.seq + " " + m.cseq.method + "\r\n";
  if (m.contactWildcard) s += "Contact: *\r\n";
  else if (m.contact.length > 0) s += "Contact: " + nameAddrList(m.contact) + "\r\n";
  if (m.contentType !== null) s += "Content-Type: " + m.contentType + "\r\n";
  const h = m.headers;
  for (let k = 0; k < h.length; k++) {
    const f = h[k]!;
    s += f.name + ": " + f.value + "\r\n";
  }
  return s + "Content-Length: " + m.body.length + "\r\n\r\n";
}

/** Writes a message to wire bytes; Content-Length always comes from body.length. */
export function serializeMessage(message: SipMessage): Buffer {
  const head = serializeHead(message);
  const body = message.body;
  const headLen = Buffer.byteLength(head, "utf8");
  const out = Buffer.allocUnsafe(headLen + body.length);
  out.write(head, 0, headLen, "utf8");
  // TypedArray set is a V8 builtin; Buffer copy() goes through argument checks and a binding.
  if (body.length > 0) out.set(body, headLen);
  return out;
}
