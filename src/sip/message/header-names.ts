import { isTokenString } from "./chars.ts";

/** Compact forms (RFC 3261 7.3.3 and the extensions that registered one) to long lower-case names. */
const COMPACT: Readonly<Record<string, string>> = {
  i: "call-id",
  m: "contact",
  v: "via",
  f: "from",
  t: "to",
  l: "content-length",
  c: "content-type",
  k: "supported",
  s: "subject",
  e: "content-encoding",
  o: "event",
  u: "allow-events",
  r: "refer-to",
  b: "referred-by",
  x: "session-expires",
  a: "accept-contact",
  j: "reject-contact",
  d: "request-disposition",
  y: "identity",
  n: "identity-info",
};

/** Hot headers: parsed into typed fields, never kept in `headers`. The number is the parser's switch key. */
export const enum Hot {
  None = 0,
  Via,
  From,
  To,
  CallId,
  CSeq,
  Contact,
  Route,
  RecordRoute,
  MaxForwards,
  ContentType,
  ContentLength,
}

const HOT: Readonly<Record<string, Hot>> = {
  via: Hot.Via,
  from: Hot.From,
  to: Hot.To,
  "call-id": Hot.CallId,
  cseq: Hot.CSeq,
  contact: Hot.Contact,
  route: Hot.Route,
  "record-route": Hot.RecordRoute,
  "max-forwards": Hot.MaxForwards,
  "content-type": Hot.ContentType,
  "content-length": Hot.ContentLength,
};

/** What the parser needs to know about a header name as written. */
export interface NameInfo {
  readonly canonical: string;
  readonly hot: Hot;
}

// Names repeat across messages with the same spelling, so the lower-casing and lookups are
// done once per spelling; the bound keeps a hostile peer from growing the map without end.
const cache = new Map<string, NameInfo>();
const CACHE_LIMIT = 2048;

/** The long lower-case form of a header name (compact forms expanded). */
export function canonicalHeaderName(name: string): string {
  return nameInfo(name).canonical;
}

/** Canonical name and hot-header key of a header name as written. */
export function nameInfo(name: string): NameInfo {
  let info = cache.get(name);
  if (info !== undefined) return info;
  const lower = name.toLowerCase();
  const canonical = lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
  info = { canonical, hot: HOT[canonical] ?? Hot.None };
  if (cache.size < CACHE_LIMIT && isTokenString(name)) cache.set(name, info);
  return info;
}

/** True when two header names denote the same header (case and compact form ignored). */
export function isSameHeaderName(a: string, b: string): boolean {
  return a === b || nameInfo(a).canonical === nameInfo(b).canonical;
}

/** True when the header is one of the typed fields of SipMessage (Via, From, To, Call-ID, CSeq, Contact, Route, Record-Route, Max-Forwards, Content-Type, Content-Length). */
export function isHotHeader(name: string): boolean {
  return nameInfo(name).hot !== Hot.None;
}

/** The compact form of a header name, or undefined when it has none. */
export function compactHeaderName(name: string): string | undefined {
  const canonical = canonicalHeaderName(name);
  for (const k in COMPACT) if (COMPACT[k] === canonical) return k;
  return undefined;
}

/** True when text[start..start+lit.length) equals the lower-case ASCII `lit`, ignoring case. */
function eqLower(text: string, start: number, lit: string): boolean {
  for (let k = 0; k < lit.length; k++) {
    // OR-ing 0x20 lower-cases A-Z and maps no other character onto a-z.
    if ((text.charCodeAt(start + k) | 32) !== lit.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Classifies the header name text[start..end) without slicing it: the hot header it names, or
 * Hot.None. Called once per header line, so it switches on length before comparing characters.
 */
export function hotHeaderAt(text: string, start: number, end: number): Hot {
  const first = text.charCodeAt(start) | 32;
  switch (end - start) {
    case 1:
      switch (first) {
        case 118:
          return Hot.Via;
        case 102:
          return Hot.From;
        case 116:
          return Hot.To;
        case 105:
          return Hot.CallId;
        case 109:
          return Hot.Contact;
        case 108:
          return Hot.ContentLength;
        case 99:
          return Hot.ContentType;
      }
      return Hot.None;
    case 2:
      return eqLower(text, start, "to") ? Hot.To : Hot.None;
    case 3:
      return eqLower(text, start, "via") ? Hot.Via : Hot.None;
    case 4:
      if (first === 102) return eqLower(text, start, "from") ? Hot.From : Hot.None;
      return eqLower(text, start, "cseq") ? Hot.CSeq : Hot.None;
    case 5:
      return eqLower(text, start, "route") ? Hot.Route : Hot.None;
    case 7:
      if (first === 99) {
        if (eqLower(text, start, "call-id")) return Hot.CallId;
        if (eqLower(text, start, "contact")) return Hot.Contact;
      }
      return Hot.None;
    case 12:
      if (first === 114) return eqLower(text, start, "record-route") ? Hot.RecordRoute : Hot.None;
      if (first === 109) return eqLower(text, start, "max-forwards") ? Hot.MaxForwards : Hot.None;
      return eqLower(text, start, "content-type") ? Hot.ContentType : Hot.None;
    case 14:
      return eqLower(text, start, "content-length") ? Hot.ContentLength : Hot.None;
  }
  return Hot.None;
}

/** Length of each hot header's canonical name, indexed by Hot. */
export const HOT_NAME_LENGTH: readonly number[] = [0, 3, 4, 2, 7, 4, 7, 5, 12, 12, 12, 14];

/**
 * The hot header whose canonical spelling, followed directly by its colon, starts at text[pos]
 * ("Via:", "Call-ID:", ...), or Hot.None. Nearly every sender writes these names so: one
 * comparison replaces the name scan and the case-folding match. Short names are compared
 * character by character: startsWith with a position is a builtin call that costs as much as
 * a dozen inlined charCodeAt comparisons.
 */
export function canonicalHotAt(text: string, pos: number): Hot {
  switch (text.charCodeAt(pos)) {
    case 86: // "Via:"
      return text.charCodeAt(pos + 1) === 105 && text.charCodeAt(pos + 2) === 97 && text.charCodeAt(pos + 3) === 58 ? Hot.Via : Hot.None;
    case 70: // "From:"
      return text.charCodeAt(pos + 1) === 114 && text.charCodeAt(pos + 2) === 111 && text.charCodeAt(pos + 3) === 109 && text.charCodeAt(pos + 4) === 58 ? Hot.From : Hot.None;
    case 84: // "To:"
      return text.charCodeAt(pos + 1) === 111 && text.charCodeAt(pos + 2) === 58 ? Hot.To : Hot.None;
    case 77: // M
      return text.startsWith("Max-Forwards:", pos) ? Hot.MaxForwards : Hot.None;
    case 82: // R
      if (text.charCodeAt(pos + 1) === 111 && text.charCodeAt(pos + 2) === 117 && text.charCodeAt(pos + 3) === 116 && text.charCodeAt(pos + 4) === 101 && text.charCodeAt(pos + 5) === 58) return Hot.Route; // "Route:"
      return text.startsWith("Record-Route:", pos) ? Hot.RecordRoute : Hot.None;
    case 67: // C
      switch (text.charCodeAt(pos + 2)) {
        case 108: // "Call-ID:"
          return text.charCodeAt(pos + 1) === 97 && text.charCodeAt(pos + 3) === 108 && text.charCodeAt(pos + 4) === 45 && text.charCodeAt(pos + 5) === 73 && text.charCodeAt(pos + 6) === 68 && text.charCodeAt(pos + 7) === 58 ? Hot.CallId : Hot.None;
        case 101: // "CSeq:"
          return text.charCodeAt(pos + 1) === 83 && text.charCodeAt(pos + 3) === 113 && text.charCodeAt(pos + 4) === 58 ? Hot.CSeq : Hot.None;
        case 110: // n
          if (text.charCodeAt(pos + 4) === 97) return text.startsWith("Contact:", pos) ? Hot.Contact : Hot.None;
          if (text.startsWith("Content-Length:", pos)) return Hot.ContentLength;
          return text.startsWith("Content-Type:", pos) ? Hot.ContentType : Hot.None;
      }
  }
  return Hot.None;
}

/** True when b[pos..] starts with the bytes of `lit`. */
export function bytesAt(b: Uint8Array, pos: number, lit: Uint8Array): boolean {
  if (pos + lit.length > b.length) return false;
  for (let k = 0; k < lit.length; k++) if (b[pos + k] !== lit[k]) return false;
  return true;
}

/**
 * canonicalHotAt over the received bytes: the hot header whose canonical spelling and colon start at b[pos], or Hot.None.
 * Every comparison is written out: a loop over a literal's bytes costs several times as much
 * (b[pos + k] past the end reads undefined, which matches nothing).
 */
export function canonicalHotAtB(b: Uint8Array, pos: number): Hot {
  switch (b[pos]) {
    case 86: // "Via:"
      return b[pos + 1] === 105 && b[pos + 2] === 97 && b[pos + 3] === 58 ? Hot.Via : Hot.None;
    case 70: // "From:"
      return b[pos + 1] === 114 && b[pos + 2] === 111 && b[pos + 3] === 109 && b[pos + 4] === 58 ? Hot.From : Hot.None;
    case 84: // "To:"
      return b[pos + 1] === 111 && b[pos + 2] === 58 ? Hot.To : Hot.None;
    case 77: // "Max-Forwards:"
      return b[pos + 1] === 97 && b[pos + 2] === 120 && b[pos + 3] === 45 && b[pos + 4] === 70 && b[pos + 5] === 111 && b[pos + 6] === 114 && b[pos + 7] === 119 && b[pos + 8] === 97 && b[pos + 9] === 114 && b[pos + 10] === 100 && b[pos + 11] === 115 && b[pos + 12] === 58
        ? Hot.MaxForwards
        : Hot.None;
    case 82: // R
      // "Route:"
      if (b[pos + 1] === 111) return b[pos + 2] === 117 && b[pos + 3] === 116 && b[pos + 4] === 101 && b[pos + 5] === 58 ? Hot.Route : Hot.None;
      // "Record-Route:"
      return b[pos + 1] === 101 && b[pos + 2] === 99 && b[pos + 3] === 111 && b[pos + 4] === 114 && b[pos + 5] === 100 && b[pos + 6] === 45 && b[pos + 7] === 82 && b[pos + 8] === 111 && b[pos + 9] === 117 && b[pos + 10] === 116 && b[pos + 11] === 101 && b[pos + 12] === 58
        ? Hot.RecordRoute
        : Hot.None;
    case 67: // C
      switch (b[pos + 2]) {
        case 108: // "Call-ID:"
          return b[pos + 1] === 97 && b[pos + 3] === 108 && b[pos + 4] === 45 && b[pos + 5] === 73 && b[pos + 6] === 68 && b[pos + 7] === 58 ? Hot.CallId : Hot.None;
        case 101: // "CSeq:"
          return b[pos + 1] === 83 && b[pos + 3] === 113 && b[pos + 4] === 58 ? Hot.CSeq : Hot.None;
        case 110: // "Con"
          if (b[pos + 1] !== 111 || b[pos + 3] !== 116) return Hot.None;
          // "Contact:"
          if (b[pos + 4] === 97) return b[pos + 5] === 99 && b[pos + 6] === 116 && b[pos + 7] === 58 ? Hot.Contact : Hot.None;
          // "Content-"
          if (b[pos + 4] !== 101 || b[pos + 5] !== 110 || b[pos + 6] !== 116 || b[pos + 7] !== 45) return Hot.None;
          // "Content-Length:"
          if (b[pos + 8] === 76) return b[pos + 9] === 101 && b[pos + 10] === 110 && b[pos + 11] === 103 && b[pos + 12] === 116 && b[pos + 13] === 104 && b[pos + 14] === 58 ? Hot.ContentLength : Hot.None;
          // "Content-Type:"
          return b[pos + 8] === 84 && b[pos + 9] === 121 && b[pos + 10] === 112 && b[pos + 11] === 101 && b[pos + 12] === 58 ? Hot.ContentType : Hot.None;
      }
  }
  return Hot.None;
}
