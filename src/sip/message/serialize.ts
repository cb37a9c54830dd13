import { serializeNameAddr } from "./parse-name-addr.ts";
import { serializeUri } from "./parse-uri.ts";
import { serializeVia } from "./parse-via.ts";
import { ALL_CLEAN, FOLDED_LINE, Field, LINE_START, cleanFields, rawHeadOf } from "./raw-head.ts";
import type { RawHead } from "./raw-head.ts";
import type { NameAddr, SipMessage, Via } from "./types.ts";

function nameAddrList(list: readonly NameAddr[]): string {
  let out = serializeNameAddr(list[0]!);
  for (let k = 1; k < list.length; k++) out += ", " + serializeNameAddr(list[k]!);
  return out;
}

function renderStartLine(m: SipMessage): string {
  return m.kind === "request" ? m.method + " " + serializeUri(m.uri) + " SIP/2.0\r\n" : "SIP/2.0 " + m.status + " " + m.reason + "\r\n";
}

/** Via lines for list[0..n). One Via per line: proxies push and pop the top value, and per-line values keep that cheap for peers too. */
function renderVias(list: readonly Via[], n: number): string {
  let s = "";
  for (let k = 0; k < n; k++) s += "Via: " + serializeVia(list[k]!) + "\r\n";
  return s;
}

/** The header lines of one field as rendered from its typed value ("" when it has none). */
function renderField(m: SipMessage, f: number): string {
  switch (f) {
    case Field.Via:
      return renderVias(m.via, m.via.length);
    case Field.Route:
      return m.route.length > 0 ? "Route: " + nameAddrList(m.route) + "\r\n" : "";
    case Field.RecordRoute:
      return m.recordRoute.length > 0 ? "Record-Route: " + nameAddrList(m.recordRoute) + "\r\n" : "";
    case Field.MaxForwards:
      return m.maxForwards !== null ? "Max-Forwards: " + m.maxForwards + "\r\n" : "";
    case Field.From:
      return "From: " + serializeNameAddr(m.from) + "\r\n";
    case Field.To:
      return "To: " + serializeNameAddr(m.to) + "\r\n";
    case Field.CallId:
      return "Call-ID: " + m.callId + "\r\n";
    case Field.CSeq:
      return "CSeq: " + m.cseq.seq + " " + m.cseq.method + "\r\n";
    case Field.Contact:
      if (m.contactWildcard) return "Contact: *\r\n";
      return m.contact.length > 0 ? "Contact: " + nameAddrList(m.contact) + "\r\n" : "";
    case Field.ContentType:
      return m.contentType !== null ? "Content-Type: " + m.contentType + "\r\n" : "";
    case Field.Headers: {
      let s = "";
      const h = m.headers;
      for (let k = 0; k < h.length; k++) s += h[k]!.name + ": " + h[k]!.value + "\r\n";
      return s;
    }
  }
  return "";
}

// The order in which a built message's fields are written.
const ORDER = [Field.Via, Field.Route, Field.RecordRoute, Field.MaxForwards, Field.From, Field.To, Field.CallId, Field.CSeq, Field.Contact, Field.ContentType, Field.Headers];

/**
 * Writes a parsed message's header section in its received order: the lines of fields that
 * still hold their parsed values are copied from the received text (runs of adjacent lines in
 * one slice), each changed field is rendered where its first line was, and changed fields that
 * had no line are rendered after the received ones.
 */
function serializeHeadRaw(m: SipMessage, raw: RawHead, cleanBits: number): string {
  const text = raw.text;
  // Bit f set: field f is clean. Bit f of `done`: field f has been written (or must not be again).
  const clean = cleanBits & ~raw.folded;
  let s = "";
  let runStart = 0;
  let runEnd = 0;
  if ((clean & (1 << Field.StartLine)) !== 0) runEnd = raw.startEnd;
  else s = renderStartLine(m);
  let done = 1 << Field.ContentLength;
  // A changed Via list whose last values are still the parsed ones (a proxy stamped, pushed or
  // popped the top): with one value per line, the lines of those values are written as received,
  // and the values before them are rendered where the first Via line was.
  let viaKeep = -1;
  let viaRender = 0;
  const VIA = 1 << Field.Via;
  if ((clean & VIA) === 0 && (raw.folded & VIA) === 0 && raw.viaPerLine) {
    const parsed = raw.via as readonly Via[];
    const now = m.via;
    let same = 0;
    while (same < parsed.length && same < now.length && parsed[parsed.length - 1 - same] === now[now.length - 1 - same]) same++;
    if (same > 0) {
      viaKeep = parsed.length - same;
      viaRender = now.length - same;
    }
  }
  let viaLine = 0;
  const lines = raw.lines;
  const nLines = lines.length;
  // Index in `headers` of the next other-header line.
  let other = 0;
  for (let k = 0; k < nLines; k++) {
    const entry = lines[k]!;
    const tag = entry % LINE_START;
    const f = tag & (FOLDED_LINE - 1);
    const ls = (entry - tag) / LINE_START;
    const bit = 1 << f;
    // A list field's lines are all its own; a single-valued field writes only its first line
    // (a repeat was checked to be identical when parsed).
    const listLike = f === Field.Via || f === Field.Contact || f === Field.Route || f === Field.RecordRoute || f === Field.Headers;
    if (f === Field.Headers) other++;
    if (f === Field.Via && viaKeep >= 0) {
      if (viaLine === 0 && viaRender > 0) {
        if (runEnd > runStart) s += text.slice(runStart, runEnd);
        runStart = runEnd = 0;
        s += renderVias(m.via, viaRender);
      }
      if (viaLine++ >= viaKeep) {
        if (runEnd !== ls) {
          if (runEnd > runStart) s += text.slice(runStart, runEnd);
          runStart = ls;
        }
        runEnd = k + 1 < nLines ? (lines[k + 1]! - (lines[k + 1]! % LINE_START)) / LINE_START : raw.end;
      } else {
        if (runEnd > runStart) s += text.slice(runStart, runEnd);
        runStart = runEnd = 0;
      }
      done |= bit;
    } else if (tag >= FOLDED_LINE && (clean & bit) !== 0) {
      // A folded line of unchanged other headers: written unfolded, in its place.
      if (runEnd > runStart) s += text.slice(runStart, runEnd);
      runStart = runEnd = 0;
      const h = m.headers[other - 1]!;
      s += h.name + ": " + h.value + "\r\n";
      done |= bit;
    } else if ((clean & bit) !== 0 && (listLike || (done & bit) === 0)) {
      if (runEnd !== ls) {
        if (runEnd > runStart) s += text.slice(runStart, runEnd);
        runStart = ls;
      }
      runEnd = k + 1 < nLines ? (lines[k + 1]! - (lines[k + 1]! % LINE_START)) / LINE_START : raw.end;
      done |= bit;
    } else {
      if (runEnd > runStart) s += text.slice(runStart, runEnd);
      runStart = runEnd = 0;
      if ((done & bit) === 0) {
        s += renderField(m, f);
        done |= bit;
      }
    }
  }
  if (runEnd > runStart) {
    s += text.slice(runStart, runEnd);
    // The last header line ends the header section without its CRLF (unless a datagram ended
    // without the empty line, right after it). A bare CR there was read as the line's end: only its LF is missing.
    if (runEnd === raw.end && text.charCodeAt(runEnd - 1) !== 10) s += text.charCodeAt(runEnd - 1) === 13 ? "\n" : "\r\n";
  }
  // Fields that had no line: a clean one is still empty; a changed one is written here.
  for (let k = 0; k < ORDER.length; k++) {
    const f = ORDER[k]!;
    if ((done & (1 << f)) === 0) s += renderField(m, f);
  }
  return s + "Content-Length: " + m.body.length + "\r\n\r\n";
}

/** Writes the start line and the header section (through the empty line) as one string. */
export function serializeHead(m: SipMessage): string {
  const raw = rawHeadOf(m);
  if (raw !== undefined) return serializeHeadRaw(m, raw, cleanFields(m, raw));
  let s = renderStartLine(m);
  for (let k = 0; k < ORDER.length; k++) s += renderField(m, ORDER[k]!);
  return s + "Content-Length: " + m.body.length + "\r\n\r\n";
}

/**
 * Writes a message to wire bytes; Content-Length always comes from body.length. A parsed
 * message nobody changed comes back as the bytes it was parsed from (a view of the datagram,
 * which its body already shares), as a proxy forwards what it received.
 */
export function serializeMessage(message: SipMessage): Buffer {
  const raw = rawHeadOf(message);
  let head: string;
  if (raw !== undefined) {
    const clean = cleanFields(message, raw);
    const wire = raw.wire;
    // RawHead.wire: these bytes are what the lines below would write for an unchanged message.
    if (clean === ALL_CLEAN && wire !== null && message.body === raw.wireBody) {
      return raw.wireStart === 0 && raw.wireEnd === wire.length ? wire : wire.subarray(raw.wireStart, raw.wireEnd);
    }
    head = serializeHeadRaw(message, raw, clean);
  } else head = serializeHead(message);
  const body = message.body;
  const headLen = Buffer.byteLength(head, "utf8");
  const out = Buffer.allocUnsafe(headLen + body.length);
  // As many bytes as characters: all ASCII, whose latin1 bytes are its UTF-8 bytes, copied
  // without encoding (about twice as fast).
  out.write(head, 0, headLen, headLen === head.length ? "latin1" : "utf8");
  // TypedArray set is a V8 builtin; Buffer copy() goes through argument checks and a binding.
  if (body.length > 0) out.set(body, headLen);
  return out;
}
