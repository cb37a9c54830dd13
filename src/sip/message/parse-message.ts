import { CR, HT, LF, NO_ITEMS, SP, TOKEN_B, clearScan, flatSlice, isToken, parseDigits, parseDigitsAt, scan, setScan } from "./chars.ts";
import { HOT_NAME_LENGTH, Hot, bytesAt, canonicalHotAt, canonicalHotAtB, hotHeaderAt } from "./header-names.ts";
import { parseNameAddrList, parseNameAddrRange } from "./parse-name-addr.ts";
import { parseUriRange } from "./parse-uri.ts";
import { parseViaInto } from "./parse-via.ts";
import { FOLDED_LINE, Field, LINE_START, attachRawHead } from "./raw-head.ts";
import type { RawHead } from "./raw-head.ts";
import type { CSeq, HeaderField, NameAddr, ParseError, ParseErrorCode, ParseResult, SipMessage, Via } from "./types.ts";

/** Default cap on one message, datagram or framed (RFC 3261 18.1.1 bounds UDP near 64 KiB anyway). */
export const DEFAULT_MAX_MESSAGE_SIZE = 65536;

/** Options of parseMessage. */
export interface ParseOptions {
  /** Largest message accepted, in bytes (default 65536). */
  maxMessageSize?: number;
}

type SalvageKey = "via" | "from" | "to" | "call-id" | "cseq";

/** The header section parsed, before the body is attached. */
export interface HeadResult {
  /** The message without its body (body is an empty Buffer), or null on error. */
  message: SipMessage | null;
  error: ParseError | null;
  /** Content-Length: the value, -1 when absent, -2 when unusable (negative, not a number, conflicting). */
  contentLength: number;
  /** The received text kept for the serializer, or null (bare LF line ends, or an error). */
  raw: RawHead | null;
  /**
   * True when the serializer, with every field clean, writes this header section exactly as
   * received: CRLF line ends, nothing folded, and one Content-Length, written
   * `Content-Length: N` as the last header (the serializer always writes that one last).
   */
  verbatim: boolean;
  /** Where the header section ends in the text (before its empty line). */
  end: number;
  /**
   * When parseHeadAt searched for the empty line: where the body starts (`end` + 4 after
   * CRLF CRLF, the text's length without an empty line), or AGAIN when the text has an empty
   * line that is not CRLF CRLF and must be parsed with its end given. Otherwise -1.
   */
  bodyStart: number;
}

/** HeadResult.bodyStart: parse again with the end given (see headEndOf). */
const AGAIN = -2;

const EMPTY_BODY = Buffer.alloc(0);
const APPLICATION_SDP = Buffer.from("application/sdp", "latin1");

// Header line positions of the head being parsed (parseHead is synchronous and never nests);
// the used part is copied out for the message.
const LINES: number[] = [];

interface StartLine {
  kind: "request" | "response";
  method: string;
  status: number;
  reason: string;
  /** The Request-URI's range in the line, which starts the header text (offsets are the same). */
  uriStart: number;
  uriEnd: number;
}

function fail(code: ParseErrorCode, detail: string, start: StartLine | null, header?: string): ParseError {
  const e: { -readonly [K in keyof ParseError]: ParseError[K] } = { code, detail };
  if (header !== undefined) e.header = header;
  if (start !== null) {
    e.kind = start.kind;
    if (start.kind === "request") e.method = start.method;
  }
  return e;
}

/** True when text[i..j) is "SIP/2.0", ASCII case ignored. */
function isSipVersionAt(text: string, i: number, j: number): boolean {
  if (j - i !== 7) return false;
  // OR-ing 0x20 lower-cases A-Z; "/", "2", "." and "0" already have that bit.
  return (
    (text.charCodeAt(i) | 32) === 115 &&
    (text.charCodeAt(i + 1) | 32) === 105 &&
    (text.charCodeAt(i + 2) | 32) === 112 &&
    text.charCodeAt(i + 3) === 47 &&
    text.charCodeAt(i + 4) === 50 &&
    text.charCodeAt(i + 5) === 46 &&
    text.charCodeAt(i + 6) === 48
  );
}

/** Index of the first SP in text[i..n), or n. */
function spaceAt(text: string, i: number, n: number): number {
  const k = text.indexOf(" ", i);
  return k < 0 || k > n ? n : k;
}

/**
 * Reads the start line text[0..n) in place. Runs of SP between elements and trailing SP are
 * tolerated: RFC 4475 3.1.2.9/3.1.2.10 let a liberal element ignore them, and they carry no meaning.
 */
function parseStartLine(text: string, n: number): StartLine | ParseError {
  if (n === 0) return fail("EMPTY", "empty start line", null);
  if (n > 3 && text.charCodeAt(3) === 47 && (text.startsWith("SIP/") || text.startsWith("sip/"))) {
    const sp = spaceAt(text, 0, n);
    const start: StartLine = { kind: "response", method: "", status: 0, reason: "", uriStart: 0, uriEnd: 0 };
    if (!isSipVersionAt(text, 0, sp)) return fail("BAD_VERSION", "unsupported SIP version " + text.slice(0, sp < 16 ? sp : 16), start);
    if (sp === n) return fail("BAD_START_LINE", "status line without status code", start);
    let i = sp;
    while (i < n && text.charCodeAt(i) === SP) i++;
    const j = spaceAt(text, i, n);
    const status = j - i === 3 ? parseDigitsAt(text, i, j, 3) : -1;
    if (status < 100 || status > 699) return fail("BAD_STATUS", "status code out of range", start);
    start.status = status;
    start.reason = j < n ? flatSlice(text, j + 1, n) : "";
    return start;
  }
  // Method SP Request-URI SP SIP-Version, read with indexOf; runs of SP count as one.
  let i = spaceAt(text, 0, n);
  const methodEnd = i;
  while (i < n && text.charCodeAt(i) === SP) i++;
  let j = spaceAt(text, i, n);
  const uriStart = i;
  const uriEnd = j;
  while (j < n && text.charCodeAt(j) === SP) j++;
  let k = spaceAt(text, j, n);
  const versionStart = j;
  const versionEnd = k;
  while (k < n && text.charCodeAt(k) === SP) k++;
  const count = uriEnd === uriStart ? 1 : versionEnd === versionStart ? 2 : k < n ? 4 : 3;
  const known = text === scan.text ? knownMethodB(scan.bytes, scan.off, scan.off + methodEnd) : null;
  // A known method is a token already.
  if (known === null) for (let m = 0; m < methodEnd; m++) if (!isToken(text.charCodeAt(m))) return fail("BAD_START_LINE", "malformed request line", null);
  if (methodEnd === 0) return fail("BAD_START_LINE", "malformed request line", null);
  const start: StartLine = { kind: "request", method: known ?? flatSlice(text, 0, methodEnd), status: 0, reason: "", uriStart, uriEnd };
  if (count !== 3) return fail("BAD_START_LINE", "malformed request line", start);
  if (!isSipVersionAt(text, versionStart, versionEnd)) {
    if (versionEnd - versionStart > 4 && text.slice(versionStart, versionStart + 4).toUpperCase() === "SIP/") {
      return fail("BAD_VERSION", "unsupported SIP version " + text.slice(versionStart, Math.min(versionEnd, versionStart + 16)), start);
    }
    return fail("BAD_START_LINE", "malformed request line", start);
  }
  return start;
}

/** True when s[start..end) holds a space (the folding made every LWS one). */
function hasSpace(s: string, start: number, end: number): boolean {
  const i = s.indexOf(" ", start);
  return i >= 0 && i < end;
}

/** Parses a CSeq value at s[start..n): 1*DIGIT LWS Method, the number at most 2^32-1 (RFC 4475 scalar02). */
function parseCSeq(s: string, start: number, n: number): CSeq | null {
  let i = start;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  // Leading zeros carry no value and do not count toward the ten digits (as parseDigits).
  let d = start;
  while (d < i - 1 && s.charCodeAt(d) === 48) d++;
  if (i === start || i - d > 10) return null;
  let seq = 0;
  for (let k = d; k < i; k++) seq = seq * 10 + (s.charCodeAt(k) - 48);
  if (seq > 0xffffffff) return null;
  let j = i;
  while (j < n && (s.charCodeAt(j) === SP || s.charCodeAt(j) === HT)) j++;
  if (j === i || j === n) return null;
  for (let k = j; k < n; k++) if (!isToken(s.charCodeAt(k))) return null;
  return { seq, method: flatSlice(s, j, n) };
}

/**
 * The literal of the RFC 3261 method written at b[i..j) (exact case: methods are case-sensitive),
 * or null. A literal costs no allocation, and the CSeq and start-line methods then compare as one pointer.
 */
function knownMethodB(b: Uint8Array, i: number, j: number): string | null {
  switch (j - i) {
    case 3:
      if (b[i] === 65 && b[i + 1] === 67 && b[i + 2] === 75) return "ACK";
      return b[i] === 66 && b[i + 1] === 89 && b[i + 2] === 69 ? "BYE" : null;
    case 6:
      if (b[i] === 73 && b[i + 1] === 78 && b[i + 2] === 86 && b[i + 3] === 73 && b[i + 4] === 84 && b[i + 5] === 69) return "INVITE";
      return b[i] === 67 && b[i + 1] === 65 && b[i + 2] === 78 && b[i + 3] === 67 && b[i + 4] === 69 && b[i + 5] === 76 ? "CANCEL" : null;
    case 7:
      return b[i] === 79 && b[i + 1] === 80 && b[i + 2] === 84 && b[i + 3] === 73 && b[i + 4] === 79 && b[i + 5] === 78 && b[i + 6] === 83 ? "OPTIONS" : null;
    case 8:
      return b[i] === 82 && b[i + 1] === 69 && b[i + 2] === 71 && b[i + 3] === 73 && b[i + 4] === 83 && b[i + 5] === 84 && b[i + 6] === 69 && b[i + 7] === 82 ? "REGISTER" : null;
  }
  return null;
}

/** parseCSeq over the received bytes b[start..n) (offsets already shifted by scan.off); `s` at offset -off gives the text. */
function parseCSeqB(b: Uint8Array, s: string, off: number, start: number, n: number): CSeq | null {
  let i = start;
  while (i < n && b[i]! >= 48 && b[i]! <= 57) i++;
  // Leading zeros carry no value and do not count toward the ten digits (as parseDigits).
  let d = start;
  while (d < i - 1 && b[d] === 48) d++;
  if (i === start || i - d > 10) return null;
  let seq = 0;
  for (let k = d; k < i; k++) seq = seq * 10 + (b[k]! - 48);
  if (seq > 0xffffffff) return null;
  let j = i;
  while (j < n && (b[j] === SP || b[j] === HT)) j++;
  if (j === i || j === n) return null;
  for (let k = j; k < n; k++) if (TOKEN_B[b[k]!] !== 1) return null;
  return { seq, method: knownMethodB(b, j, n) ?? flatSlice(s, j - off, n - off) };
}

/**
 * Parses the header section (start line and header lines, without the terminating empty line)
 * into a message with an empty body. Hot headers go to the typed fields; others stay raw.
 */
export function parseHead(text: string, end = text.length): HeadResult {
  return parseHeadAt(text, end, false);
}

/**
 * Where the header section of a whole datagram's text ends, and its body starts: at the first
 * CRLF CRLF; without one, at the first LF LF (bare LF line ends are not SIP, but cost nothing to
 * tolerate when CRLF is absent altogether); without either, the text is all header section.
 */
function headEndOf(text: string): { headEnd: number; bodyStart: number } {
  const crlf = text.indexOf("\r\n\r\n");
  if (crlf >= 0) return { headEnd: crlf, bodyStart: crlf + 4 };
  const lf = text.indexOf("\n\n");
  if (lf >= 0) return { headEnd: lf, bodyStart: lf + 2 };
  return { headEnd: text.length, bodyStart: text.length };
}

/**
 * The end of the line text[start..lineEnd) (its LF at `eol`) as read when the header section's
 * end is given: the last line, followed by the empty line, ends where CR LF CR LF starts, and
 * one CR before that is stripped as any line's is (a line ending CR CR LF loses both).
 */
function asLastLine(text: string, start: number, lineEnd: number, eol: number): number {
  if (lineEnd !== eol - 1 || text.charCodeAt(eol + 1) !== CR || text.charCodeAt(eol + 2) !== LF) return lineEnd;
  return lineEnd > start && text.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd;
}

/**
 * parseHead of text[0..end); with `find`, `end` is the text's length and the header section
 * ends at its first empty line, found by the line scan itself (one pass over the text fewer
 * than searching for it first). Only CRLF CRLF is taken so: any other empty line answers AGAIN.
 */
function parseHeadAt(text: string, end: number, find: boolean): HeadResult {
  // The head may be the start of a longer text (the whole datagram, see parseMessage).
  let len = end;
  let found = false;
  let eol = text.indexOf("\n");
  if (eol < 0 || eol > len) eol = len;
  let firstEnd = eol > 0 && text.charCodeAt(eol - 1) === CR ? eol - 1 : eol;
  if (find) firstEnd = asLastLine(text, 0, firstEnd, eol);
  const start = parseStartLine(text, firstEnd);
  let eol0 = eol + 1 < len ? eol + 1 : len;
  if ("code" in start) {
    if (find) len = headEndOf(text).headEnd;
    const head = text.slice(0, len);
    return { message: null, error: withSalvage(start, head), contentLength: scanContentLength(head), raw: null, verbatim: false, end: len, bodyStart: -1 };
  }

  let via: Via[] | null = null;
  // Lists a message does not have share one frozen empty list (values are immutable).
  let contact: NameAddr[] | null = null;
  let route: NameAddr[] | null = null;
  let recordRoute: NameAddr[] | null = null;
  let headers: HeaderField[] | null = null;
  let from: NameAddr | null = null;
  let to: NameAddr | null = null;
  // Where the first From/To/CSeq value was read, to compare a repeat with it.
  let fromSrc = "";
  let fromS = 0;
  let fromE = 0;
  let toSrc = "";
  let toS = 0;
  let toE = 0;
  let cseqSrc = "";
  let cseqS = 0;
  let cseqE = 0;
  let callId: string | null = null;
  let cseq: CSeq | null = null;
  let maxForwards: number | null = null;
  let contentType: string | null = null;
  let contentLength = -1;
  let contactWildcard = false;
  let error: ParseError | null = null;
  // Per header line: its field, start and end, for writing unchanged headers back as received.
  // Lines ended by a bare LF are not copied: the serializer only writes CRLF.
  const lines = LINES;
  let nLines = 0;
  let folds = 0;
  let viaLines = 0;
  let crlf = eol >= len || firstEnd < eol;
  // For HeadResult.verbatim: any folded line, Content-Length lines seen, the line index of a
  // canonical one.
  let anyFold = false;
  let clLines = 0;
  let clCanonical = -1;
  // Where that canonical Content-Length's value ends: at the end of the header section when it is the last line.
  let clEnd = -1;

  // The received bytes behind the text, when parseMessage has them (see chars.ts `scan`).
  const bytes = text === scan.text ? scan.bytes : null;
  const off = scan.off;
  let pos = eol + 1;
  // The first character of the line at `pos` (each line reads its successor's, for folding).
  let c0 = text.charCodeAt(pos);
  while (pos < len) {
    if (find) {
      if (c0 === CR || c0 === LF) {
        // An empty line: the first one, since every line start is visited (a continuation line
        // starts with SP or HT). CRLF CRLF ends the header section where parseMessage always ended it.
        if (c0 === CR && text.charCodeAt(pos + 1) === LF && text.charCodeAt(pos - 1) === LF && text.charCodeAt(pos - 2) === CR) {
          len = pos - 2;
          found = true;
          break;
        }
        return { message: null, error: null, contentLength: -1, raw: null, verbatim: false, end: -1, bodyStart: AGAIN };
      }
    }
    eol = text.indexOf("\n", pos);
    if (eol < 0 || eol > len) eol = len;
    let lineEnd = eol > pos && text.charCodeAt(eol - 1) === CR ? eol - 1 : eol;
    if (find && text.charCodeAt(eol + 1) === CR) lineEnd = asLastLine(text, pos, lineEnd, eol);
    if (lineEnd === eol && eol < len) crlf = false;
    let hot = bytes !== null ? canonicalHotAtB(bytes, pos + off) : canonicalHotAt(text, pos);
    // The name is the hot header's canonical spelling, directly followed by its colon.
    const canonical = hot !== Hot.None;
    let ne: number;
    let colon: number;
    if (canonical) {
      ne = colon = pos + HOT_NAME_LENGTH[hot]!;
    } else {
      // Any other spelling: the name is scanned in JS rather than with indexOf(":"): names are
      // short, and the same pass checks that the name is a token.
      ne = pos;
      while (ne < lineEnd && isToken(text.charCodeAt(ne))) ne++;
      colon = ne;
      while (colon < lineEnd && (text.charCodeAt(colon) === SP || text.charCodeAt(colon) === HT)) colon++;
      if (ne === pos || colon >= lineEnd || text.charCodeAt(colon) !== 58) {
        error = fail("BAD_HEADER_LINE", colon >= lineEnd ? "header line without colon" : "malformed header name", start);
        break;
      }
      hot = hotHeaderAt(text, pos, ne);
    }
    const name = hot === Hot.None ? text.slice(pos, ne) : "";
    const headerName = pos;
    const headerNameEnd = ne;
    // The value as a string is only made where a case needs it (raw headers, duplicate checks):
    // Via, Route, Record-Route and Contact lines are parsed in place without one.
    let value = "";
    let folded = false;
    // Where the structured parsers read the value: the header text itself when the line is not
    // folded, since characters of a slice are slower to read (see parseUriRange).
    let src = text;
    let vStart: number;
    let vEnd: number;
    let next = eol + 1;
    let c = next < len ? text.charCodeAt(next) : 0;
    if (c !== SP && c !== HT) {
      // The common unfolded line: trim by index.
      if (bytes !== null) {
        let vs = colon + 1 + off;
        const le = lineEnd + off;
        while (vs < le && (bytes[vs] === SP || bytes[vs] === HT)) vs++;
        let ve = le;
        while (ve > vs && (bytes[ve - 1] === SP || bytes[ve - 1] === HT)) ve--;
        vStart = vs - off;
        vEnd = ve - off;
      } else {
        let vs = colon + 1;
        while (vs < lineEnd && (text.charCodeAt(vs) === SP || text.charCodeAt(vs) === HT)) vs++;
        let ve = lineEnd;
        while (ve > vs && (text.charCodeAt(ve - 1) === SP || text.charCodeAt(ve - 1) === HT)) ve--;
        vStart = vs;
        vEnd = ve;
      }
    } else {
      // Folded value: each continuation line is one LWS, i.e. one SP (RFC 3261 7.3.1).
      value = text.slice(colon + 1, lineEnd).trim();
      while (c === SP || c === HT) {
        eol = text.indexOf("\n", next);
        if (eol < 0 || eol > len) eol = len;
        lineEnd = eol > next && text.charCodeAt(eol - 1) === CR ? eol - 1 : eol;
        if (find && text.charCodeAt(eol + 1) === CR) lineEnd = asLastLine(text, next, lineEnd, eol);
        const piece = text.slice(next, lineEnd).trim();
        if (piece.length > 0) value = value.length > 0 ? value + " " + piece : piece;
        next = eol + 1;
        c = next < len ? text.charCodeAt(next) : 0;
      }
      src = value;
      folded = true;
      anyFold = true;
      // A folded hot header is rendered whole; a folded other header is rendered alone (FOLDED_LINE).
      if (hot !== Hot.None) folds |= 1 << hot;
      vStart = 0;
      vEnd = value.length;
    }
    lines[nLines++] = pos * LINE_START + (hot === Hot.None ? (folded ? Field.Headers | FOLDED_LINE : Field.Headers) : hot);
    pos = next;
    c0 = c;

    switch (hot) {
      case Hot.None:
        (headers ??= []).push({ name, value: folded ? value : text.slice(vStart, vEnd) });
        break;
      case Hot.Via:
        viaLines++;
        if ((via = parseViaInto(src, via, false, vStart, vEnd)) === null) error = fail("BAD_HEADER_VALUE", "malformed Via", start, text.slice(headerName, headerNameEnd));
        break;
      case Hot.From:
      case Hot.To: {
        const isFrom = hot === Hot.From;
        if ((isFrom ? from : to) !== null) {
          const prev = isFrom ? fromSrc.slice(fromS, fromE) : toSrc.slice(toS, toE);
          if (prev !== src.slice(vStart, vEnd)) error = fail("DUPLICATE_HEADER", "conflicting " + (isFrom ? "From" : "To") + " headers", start, text.slice(headerName, headerNameEnd));
          break;
        }
        const na = parseNameAddrRange(src, vStart, vEnd);
        if (na === null) error = fail("BAD_HEADER_VALUE", "malformed " + (isFrom ? "From" : "To"), start, text.slice(headerName, headerNameEnd));
        else if (isFrom) {
          from = na;
          fromSrc = src;
          fromS = vStart;
          fromE = vEnd;
        } else {
          to = na;
          toSrc = src;
          toS = vStart;
          toE = vEnd;
        }
        break;
      }
      case Hot.CallId:
        if (callId !== null) {
          if (callId !== src.slice(vStart, vEnd)) error = fail("DUPLICATE_HEADER", "conflicting Call-ID headers", start, text.slice(headerName, headerNameEnd));
        } else if (vEnd === vStart || hasSpace(src, vStart, vEnd)) {
          error = fail("BAD_HEADER_VALUE", "malformed Call-ID", start, text.slice(headerName, headerNameEnd));
        } else callId = flatSlice(src, vStart, vEnd);
        break;
      case Hot.CSeq:
        if (cseq !== null) {
          if (cseqSrc.slice(cseqS, cseqE) !== src.slice(vStart, vEnd)) error = fail("DUPLICATE_HEADER", "conflicting CSeq headers", start, text.slice(headerName, headerNameEnd));
          break;
        }
        cseq = bytes !== null && !folded ? parseCSeqB(bytes, src, off, vStart + off, vEnd + off) : parseCSeq(src, vStart, vEnd);
        cseqSrc = src;
        cseqS = vStart;
        cseqE = vEnd;
        if (cseq === null) error = fail("BAD_HEADER_VALUE", "malformed CSeq", start, text.slice(headerName, headerNameEnd));
        break;
      case Hot.Contact:
        if (vEnd - vStart === 1 && src.charCodeAt(vStart) === 42) contactWildcard = true;
        else if ((contact = parseNameAddrList(src, contact, vStart, vEnd)) === null) error = fail("BAD_HEADER_VALUE", "malformed Contact", start, text.slice(headerName, headerNameEnd));
        break;
      case Hot.Route:
        if ((route = parseNameAddrList(src, route, vStart, vEnd)) === null) error = fail("BAD_HEADER_VALUE", "malformed Route", start, text.slice(headerName, headerNameEnd));
        break;
      case Hot.RecordRoute:
        if ((recordRoute = parseNameAddrList(src, recordRoute, vStart, vEnd)) === null) error = fail("BAD_HEADER_VALUE", "malformed Record-Route", start, text.slice(headerName, headerNameEnd));
        break;
      case Hot.MaxForwards: {
        const mf = parseDigitsAt(src, vStart, vEnd, 3);
        if (mf < 0 || mf > 255) error = fail("BAD_HEADER_VALUE", "malformed Max-Forwards", start, text.slice(headerName, headerNameEnd));
        else if (maxForwards !== null && maxForwards !== mf) error = fail("DUPLICATE_HEADER", "conflicting Max-Forwards headers", start, text.slice(headerName, headerNameEnd));
        else maxForwards = mf;
        break;
      }
      case Hot.ContentType:
        if (contentType !== null) {
          if (contentType !== src.slice(vStart, vEnd)) error = fail("DUPLICATE_HEADER", "conflicting Content-Type headers", start, text.slice(headerName, headerNameEnd));
        } else if (vEnd - vStart === 15 && (bytes !== null && !folded ? bytesAt(bytes, vStart + off, APPLICATION_SDP) : src.startsWith("application/sdp", vStart))) contentType = "application/sdp";
        else contentType = flatSlice(src, vStart, vEnd);
        break;
      case Hot.ContentLength: {
        // The value is never used as a length unless it is a plain non-negative number (RFC 4475 ncl).
        const cl = parseDigitsAt(src, vStart, vEnd, 10);
        if (cl < 0) {
          contentLength = -2;
          error = fail("BAD_CONTENT_LENGTH", "malformed Content-Length", start, text.slice(headerName, headerNameEnd));
        } else if (contentLength !== -1 && contentLength !== cl) {
          contentLength = -2;
          error = fail("DUPLICATE_HEADER", "conflicting Content-Length headers", start, text.slice(headerName, headerNameEnd));
        } else contentLength = cl;
        clLines++;
        // `Content-Length: N` ending the header section: one SP, no leading zero, nothing after the digits.
        if (canonical && !folded && vStart === headerName + 16 && vEnd === lineEnd && text.charCodeAt(headerName + 15) === SP && (vEnd - vStart === 1 || src.charCodeAt(vStart) !== 48)) {
          clCanonical = nLines - 1;
          clEnd = vEnd;
        }
        break;
      }
    }
    if (error !== null) break;
  }
  // Not found: an error stopped the scan before the empty line, or the text has none.
  if (find && !found && error !== null) len = headEndOf(text).headEnd;
  if (eol0 > len) eol0 = len;
  const bodyStart = !find ? -1 : found ? len + 4 : text.length;
  if (error === null) {
    if (via === null) error = fail("MISSING_HEADER", "missing Via", start, "Via");
    else if (from === null) error = fail("MISSING_HEADER", "missing From", start, "From");
    else if (to === null) error = fail("MISSING_HEADER", "missing To", start, "To");
    else if (callId === null) error = fail("MISSING_HEADER", "missing Call-ID", start, "Call-ID");
    else if (cseq === null) error = fail("MISSING_HEADER", "missing CSeq", start, "CSeq");
    else if (start.kind === "request" && cseq.method !== start.method) {
      error = fail("CSEQ_METHOD_MISMATCH", "CSeq method does not match the request method", start, "CSeq");
    }
  }
  if (error === null && start.kind === "request") {
    const uri = parseUriRange(text, start.uriStart, start.uriEnd);
    if (uri === null) error = fail("BAD_URI", "malformed Request-URI", start);
    else {
      const message: SipMessage = {
        kind: "request",
        method: start.method,
        uri,
        via: via!,
        from: from!,
        to: to!,
        callId: callId!,
        cseq: cseq!,
        contact: contact ?? NO_ITEMS,
        contactWildcard,
        route: route ?? NO_ITEMS,
        recordRoute: recordRoute ?? NO_ITEMS,
        maxForwards,
        contentType,
        headers: headers ?? NO_ITEMS,
        body: EMPTY_BODY,
      };
      const raw = crlf ? attachRawHead(message, text, len, eol0, lines, nLines, folds, viaLines) : null;
      return { message, error: null, contentLength, raw, verbatim: raw !== null && !anyFold && clLines === 1 && clCanonical === nLines - 1 && clEnd === len, end: len, bodyStart };
    }
  }
  if (error === null) {
    const message: SipMessage = {
      kind: "response",
      status: start.status,
      reason: start.reason,
      via: via!,
      from: from!,
      to: to!,
      callId: callId!,
      cseq: cseq!,
      contact: contact ?? NO_ITEMS,
      contactWildcard,
      route: route ?? NO_ITEMS,
      recordRoute: recordRoute ?? NO_ITEMS,
      maxForwards,
      contentType,
      headers: headers ?? NO_ITEMS,
      body: EMPTY_BODY,
    };
    const raw = crlf ? attachRawHead(message, text, len, eol0, lines, nLines, folds, viaLines) : null;
    return { message, error: null, contentLength, raw, verbatim: raw !== null && !anyFold && clLines === 1 && clCanonical === nLines - 1 && clEnd === len, end: len, bodyStart };
  }
  const head = text.slice(0, len);
  return { message: null, error: withSalvage(error!, head), contentLength: contentLength === -2 ? -2 : scanContentLength(head), raw: null, verbatim: false, end: len, bodyStart };
}

/**
 * Finds Content-Length in a header section that failed to parse, so a stream can skip just
 * that message. Same rules as the strict path: -1 absent, -2 unusable or conflicting.
 */
function scanContentLength(text: string): number {
  let result = -1;
  const lines = text.split("\n");
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k]!;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name !== "content-length" && name !== "l") continue;
    const v = parseDigits(line.slice(colon + 1).trim(), 10);
    if (v < 0 || (result >= 0 && result !== v)) return -2;
    result = v;
  }
  return result;
}

const SALVAGED: Readonly<Record<string, SalvageKey>> = {
  via: "via",
  v: "via",
  from: "from",
  f: "from",
  to: "to",
  t: "to",
  "call-id": "call-id",
  i: "call-id",
  cseq: "cseq",
};

/**
 * Collects the raw Via/From/To/Call-ID/CSeq values for a stateless 400/505. Runs only on the
 * error path, leniently: lines that do not look like headers are skipped.
 */
function withSalvage(error: ParseError, text: string): ParseError {
  const salvage: Partial<Record<SalvageKey, string[]>> = {};
  const lines = text.split("\n");
  let found = false;
  let current: string[] | null = null;
  for (let k = 1; k < lines.length; k++) {
    let line = lines[k]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const c = line.charCodeAt(0);
    if ((c === SP || c === HT) && current !== null) {
      const last = current.length - 1;
      current[last] = (current[last] + " " + line.trim()).trim();
      continue;
    }
    current = null;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = SALVAGED[line.slice(0, colon).trim().toLowerCase()];
    if (key === undefined) continue;
    current = salvage[key] ?? (salvage[key] = []);
    current.push(line.slice(colon + 1).trim());
    found = true;
  }
  return found ? { ...error, salvage } : error;
}

// Buffer needles: a string needle is converted to bytes on every indexOf call.
const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");
const LFLF = Buffer.from("\n\n", "latin1");

function findHeadEnd(data: Buffer, from: number): { headEnd: number; bodyStart: number } | null {
  const crlf = data.indexOf(CRLFCRLF, from);
  if (crlf >= 0) return { headEnd: crlf, bodyStart: crlf + 4 };
  // Bare LF line ends are not SIP, but cost nothing to tolerate when CRLF is absent altogether.
  const lf = data.indexOf(LFLF, from);
  if (lf >= 0) return { headEnd: lf, bodyStart: lf + 2 };
  return null;
}

/** Skips CRLFs before a start line (RFC 3261 7.5: keep-alives and stray line ends are ignored). */
export function skipLeadingCrlf(data: Buffer, i: number): number {
  while (i < data.length && (data[i] === CR || data[i] === LF)) i++;
  return i;
}

/**
 * Parses one UDP datagram as one SIP message. Octets beyond Content-Length are ignored
 * (RFC 3261 18.3); without Content-Length the body is the rest of the datagram. Never throws.
 */
export function parseMessage(data: Buffer, options?: ParseOptions): ParseResult {
  const max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (data.length > max) return { ok: false, error: { code: "TOO_LARGE", detail: "message too large" } };
  const begin = skipLeadingCrlf(data, 0);
  if (begin >= data.length) return { ok: false, error: { code: "EMPTY", detail: "empty message" } };
  // A datagram of usual size is decoded once, whole: when every character came from one byte
  // (ASCII, or single bytes replaced by U+FFFD), string offsets are byte offsets, and the empty
  // line is found in the string without a Buffer search. Larger ones decode only their head.
  if (data.length - begin <= WHOLE_DECODE_LIMIT) {
    const text = data.toString("utf8", begin);
    if (text.length === data.length - begin) {
      // Every character came from the byte at the same offset: the scanners may read the bytes.
      setScan(text, data, begin);
      let head: HeadResult;
      try {
        // The line scan finds the empty line (a datagram without one is read to its end).
        head = parseHeadAt(text, text.length, true);
        if (head.bodyStart === AGAIN) {
          const found = headEndOf(text);
          head = parseHeadAt(text, found.headEnd, false);
          head.bodyStart = found.bodyStart;
        }
      } finally {
        // Also on an unexpected throw: the datagram must not stay behind the scanners.
        clearScan();
      }
      return withBody(head, data, begin, begin + head.bodyStart, head.bodyStart - head.end === 4, text, head.end);
    }
  }
  const found = findHeadEnd(data, begin);
  const headEnd = found === null ? data.length : found.headEnd;
  const bodyStart = found === null ? data.length : found.bodyStart;
  const headText = data.toString("utf8", begin, headEnd);
  return withBody(parseHead(headText), data, begin, bodyStart, found !== null && found.bodyStart - found.headEnd === 4, headText, headText.length);
}

// Datagrams up to this size are decoded whole (a typical INVITE with SDP is well under it).
const WHOLE_DECODE_LIMIT = 4096;

/**
 * Attaches the body after a parsed head: exactly Content-Length bytes, or the rest of the
 * datagram without one. `crlfEnd`: the head ended in CRLF CRLF, as the serializer writes it.
 */
function withBody(head: HeadResult, data: Buffer, begin: number, bodyStart: number, crlfEnd: boolean, text: string, headLen: number): ParseResult {
  if (head.message === null) return { ok: false, error: head.error! };
  const available = data.length - bodyStart;
  const cl = head.contentLength;
  if (cl > available) {
    return { ok: false, error: withSalvage(fail("BODY_TRUNCATED", "body shorter than Content-Length", startOf(head.message), "Content-Length"), text.slice(0, headLen)) };
  }
  const m = head.message;
  if (cl === -1) m.body = available > 0 ? data.subarray(bodyStart) : EMPTY_BODY;
  else if (cl > 0) m.body = data.subarray(bodyStart, bodyStart + cl);
  const raw = head.raw;
  if (head.verbatim && crlfEnd && raw !== null) {
    // Proxies forward what they received: while nothing changes, these bytes are the message.
    raw.wire = data;
    raw.wireStart = begin;
    raw.wireEnd = bodyStart + cl;
    raw.wireBody = m.body;
  }
  return { ok: true, message: m };
}

/** The start-line facts of a parsed message, for errors found after the head parsed. */
export function startOf(m: SipMessage): StartLine {
  return m.kind === "request"
    ? { kind: "request", method: m.method, status: 0, reason: "", uriStart: 0, uriEnd: 0 }
    : { kind: "response", method: "", status: m.status, reason: m.reason, uriStart: 0, uriEnd: 0 };
}

/** Builds a ParseError with start-line facts and salvage; used by the stream framer. */
export function makeError(code: ParseErrorCode, detail: string, m: SipMessage | null, headText: string | null, header?: string): ParseError {
  const e = fail(code, detail, m === null ? null : startOf(m), header);
  return headText === null ? e : withSalvage(e, headText);
}
