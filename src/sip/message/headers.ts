import { Hot, nameInfo } from "./header-names.ts";
import { parseNameAddrList, parseNameAddrRange, splitList } from "./parse-name-addr.ts";
import { parseViaInto } from "./parse-via.ts";
import { parseDigits } from "./chars.ts";
import type { CSeq, HeaderField, SipMessage } from "./types.ts";

/** First raw value of an "other" header (hot headers live in the typed fields and are not found here). */
export function getHeader(m: SipMessage, name: string): string | undefined {
  const want = nameInfo(name).canonical;
  const h = m.headers;
  for (let k = 0; k < h.length; k++) {
    const f = h[k]!;
    if (f.name === name || nameInfo(f.name).canonical === want) return f.value;
  }
  return undefined;
}

// RFC 3261 7.3.1: these carry commas inside one value (digest parameters), so a line is one value.
const NOT_LISTS: ReadonlySet<string> = new Set(["www-authenticate", "authorization", "proxy-authenticate", "proxy-authorization"]);

/**
 * All values of an "other" header across its lines, comma-separated lists split (quotes and <>
 * respected), except the authentication headers, whose values are whole lines.
 */
export function getHeaders(m: SipMessage, name: string): string[] {
  const want = nameInfo(name).canonical;
  const whole = NOT_LISTS.has(want);
  const out: string[] = [];
  for (const f of m.headers) {
    if (nameInfo(f.name).canonical !== want) continue;
    if (whole) {
      if (f.value.length > 0) out.push(f.value);
      continue;
    }
    for (const part of splitList(f.value)) if (part.length > 0) out.push(part);
  }
  return out;
}

/** Error thrown when a caller hands an unparsable value for a typed header: a bug, not bad input. */
export class HeaderValueError extends Error {
  readonly code = "SIP_BAD_HEADER_VALUE";
  override readonly name = "HeaderValueError";
}

function bad(name: string): never {
  throw new HeaderValueError("invalid value for " + name);
}

/** Parses `value` into the typed field of hot header `hot`; `append` adds to list fields instead of replacing. */
function applyHot(m: SipMessage, hot: Hot, name: string, value: string, append: boolean): void {
  switch (hot) {
    case Hot.Via: {
      const list = parseViaInto(value, append ? m.via.slice() : null);
      if (list === null) bad(name);
      m.via = list;
      return;
    }
    case Hot.Contact:
    case Hot.Route:
    case Hot.RecordRoute: {
      if (hot === Hot.Contact && value.trim() === "*") {
        m.contact = [];
        m.contactWildcard = true;
        return;
      }
      const key = hot === Hot.Contact ? "contact" : hot === Hot.Route ? "route" : "recordRoute";
      const list = parseNameAddrList(value, append ? m[key].slice() : null);
      if (list === null) bad(name);
      m[key] = list;
      if (hot === Hot.Contact) m.contactWildcard = false;
      return;
    }
    case Hot.From:
    case Hot.To: {
      const na = parseNameAddrRange(value, 0, value.length);
      if (na === null) bad(name);
      if (hot === Hot.From) m.from = na;
      else m.to = na;
      return;
    }
    case Hot.CallId:
      if (value.trim().length === 0) bad(name);
      m.callId = value.trim();
      return;
    case Hot.CSeq: {
      const match = /^\s*(\d{1,10})\s+(\S+)\s*$/.exec(value);
      const seq = match === null ? -1 : parseDigits(match[1]!, 10);
      if (match === null || seq < 0 || seq > 0xffffffff) bad(name);
      const c: CSeq = { seq, method: match[2]! };
      m.cseq = c;
      return;
    }
    case Hot.MaxForwards: {
      const mf = parseDigits(value.trim(), 3);
      if (mf < 0 || mf > 255) bad(name);
      m.maxForwards = mf;
      return;
    }
    case Hot.ContentType:
      m.contentType = value.trim();
      return;
    case Hot.ContentLength:
      // Written from body.length by the serializer; a stored value could only disagree.
      return;
    case Hot.None:
      return;
  }
}

/**
 * Sets a header to one value, replacing every earlier line of it. A hot header (Via, From, ...)
 * is parsed into its typed field; an invalid value there throws HeaderValueError.
 */
export function setHeader(m: SipMessage, name: string, value: string): void {
  const info = nameInfo(name);
  if (info.hot !== Hot.None) {
    applyHot(m, info.hot, name, value, false);
    return;
  }
  // A new list rather than an edit in place: message values are immutable (types.ts).
  const out: HeaderField[] = [];
  let placed = false;
  for (const f of m.headers) {
    if (nameInfo(f.name).canonical !== info.canonical) out.push(f);
    else if (!placed) {
      out.push({ name, value });
      placed = true;
    }
  }
  if (!placed) out.push({ name, value });
  m.headers = out;
}

/** Appends a header line (hot list headers get the value appended to their typed list). */
export function addHeader(m: SipMessage, name: string, value: string): void {
  const info = nameInfo(name);
  if (info.hot !== Hot.None) {
    applyHot(m, info.hot, name, value, true);
    return;
  }
  m.headers = [...m.headers, { name, value }];
}

/** Removes every line of an "other" header, or empties an optional typed field (Contact, Route, Record-Route, Max-Forwards, Content-Type). */
export function removeHeader(m: SipMessage, name: string): void {
  const info = nameInfo(name);
  switch (info.hot) {
    case Hot.None:
      m.headers = m.headers.filter((f) => nameInfo(f.name).canonical !== info.canonical);
      return;
    case Hot.Contact:
      m.contact = [];
      m.contactWildcard = false;
      return;
    case Hot.Route:
      m.route = [];
      return;
    case Hot.RecordRoute:
      m.recordRoute = [];
      return;
    case Hot.MaxForwards:
      m.maxForwards = null;
      return;
    case Hot.ContentType:
      m.contentType = null;
      return;
    case Hot.Via:
      m.via = [];
      return;
    default:
      // From, To, Call-ID, CSeq are mandatory fields and Content-Length is derived: nothing to remove.
      return;
  }
}
