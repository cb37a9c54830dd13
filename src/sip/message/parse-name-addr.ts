import { BACKSLASH, COMMA, DQUOTE, HT, LAQUOT, NO_PARAMS, RAQUOT, SEMI, SP, flatSlice, isWs, quotedEnd, quotedEndB, scan, skipWs, skipWsB } from "./chars.ts";
import { parseHeaderParams, parseHeaderParamsBytes, serializeParams } from "./params.ts";
import type { MutableParams } from "./params.ts";
import { parseUriRange, parseUriRangeBytes, serializeUri } from "./parse-uri.ts";
import type { NameAddr, Uri } from "./types.ts";

/**
 * Splits a header value at the commas that separate list elements (RFC 3261 7.3.1), ignoring
 * commas inside quoted strings and <...>. Elements are trimmed; an empty element is kept as ""
 * so callers can refuse `a,,b`.
 */
export function splitList(value: string): string[] {
  if (value.indexOf(",") < 0) return [value.trim()];
  const out: string[] = [];
  let start = 0;
  let angle = false;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === DQUOTE) {
      const q = quotedEnd(value, i, n);
      if (q < 0) break;
      i = q - 1;
    } else if (c === LAQUOT) angle = true;
    else if (c === RAQUOT) angle = false;
    else if (c === COMMA && !angle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out;
}

/** Parses name-addr / addr-spec with header params from s[start..end); null when malformed. */
export function parseNameAddrRange(s: string, start: number, end: number): NameAddr | null {
  if (s === scan.text) return parseNameAddrRangeBytes(s, start, end);
  let i = skipWs(s, start, end);
  while (end > i && isWs(s.charCodeAt(end - 1))) end--;
  if (i >= end) return null;
  let displayName: string | null = null;
  let uri: Uri | null;
  let c = s.charCodeAt(i);
  if (c === DQUOTE) {
    const q = quotedEnd(s, i, end);
    if (q < 0) return null;
    displayName = flatSlice(s, i + 1, q - 1);
    i = skipWs(s, q, end);
    c = s.charCodeAt(i);
    if (c !== LAQUOT) return null;
  } else if (c !== LAQUOT) {
    const lt = s.indexOf("<", i);
    if (lt >= 0 && lt < end) {
      // Unquoted display name: RFC 4475 lwsdisp allows it to touch the '<'; odd characters
      // (baddn's comma) are tolerated and re-quoted on output.
      let de = lt;
      while (de > i && isWs(s.charCodeAt(de - 1))) de--;
      for (let k = i; k < de; k++) {
        const d = s.charCodeAt(k);
        if (d === DQUOTE || d === BACKSLASH || d === RAQUOT) return null;
      }
      displayName = flatSlice(s, i, de);
      i = lt;
      c = LAQUOT;
    }
  }
  if (c === LAQUOT) {
    const gt = s.indexOf(">", i);
    if (gt < 0 || gt >= end) return null;
    // Spaces just inside the brackets (RFC 4475 badaspec) are tolerated: trimming is unambiguous.
    const us = skipWs(s, i + 1, gt);
    let ue = gt;
    while (ue > us && isWs(s.charCodeAt(ue - 1))) ue--;
    uri = parseUriRange(s, us, ue);
    i = gt + 1;
  } else {
    // addr-spec: parameters after it belong to the header (RFC 3261 20.10), so the URI ends at ';'.
    let ue = i;
    while (ue < end) {
      const d = s.charCodeAt(ue);
      if (d === SEMI || isWs(d)) break;
      ue++;
    }
    uri = parseUriRange(s, i, ue);
    i = ue;
  }
  if (uri === null) return null;
  i = skipWs(s, i, end);
  if (i === end) return { displayName, uri, params: NO_PARAMS };
  const params: MutableParams = {};
  if (parseHeaderParams(s, i, end, params) !== end) return null;
  return { displayName, uri, params };
}

/** parseNameAddrRange over the received bytes (see chars.ts `scan`): same grammar, strings sliced from `s`. */
function parseNameAddrRangeBytes(s: string, start: number, end: number): NameAddr | null {
  const b = scan.bytes;
  const off = scan.off;
  let e = end + off;
  let i = skipWsB(b, start + off, e);
  while (e > i && (b[e - 1] === SP || b[e - 1] === HT)) e--;
  if (i >= e) return null;
  let displayName: string | null = null;
  let uri: Uri | null;
  let c = b[i];
  if (c === DQUOTE) {
    const q = quotedEndB(b, i, e);
    if (q < 0) return null;
    displayName = flatSlice(s, i + 1 - off, q - 1 - off);
    i = skipWsB(b, q, e);
    c = b[i];
    if (c !== LAQUOT) return null;
  } else if (c !== LAQUOT) {
    // indexOf finds a delimiter faster than a loop over the bytes (a C library scan).
    let lt = s.indexOf("<", i - off) + off;
    if (lt < i) lt = e;
    if (lt < e) {
      // Unquoted display name (see parseNameAddrRange).
      let de = lt;
      while (de > i && (b[de - 1] === SP || b[de - 1] === HT)) de--;
      for (let k = i; k < de; k++) {
        const d = b[k];
        if (d === DQUOTE || d === BACKSLASH || d === RAQUOT) return null;
      }
      displayName = flatSlice(s, i - off, de - off);
      i = lt;
      c = LAQUOT;
    }
  }
  if (c === LAQUOT) {
    const gt = s.indexOf(">", i - off) + off;
    if (gt < i || gt >= e) return null;
    const us = skipWsB(b, i + 1, gt);
    let ue = gt;
    while (ue > us && (b[ue - 1] === SP || b[ue - 1] === HT)) ue--;
    uri = parseUriRangeBytes(s, us, ue);
    i = gt + 1;
  } else {
    // addr-spec: parameters after it belong to the header (RFC 3261 20.10), so the URI ends at ';'.
    let ue = i;
    while (ue < e) {
      const d = b[ue];
      if (d === SEMI || d === SP || d === HT) break;
      ue++;
    }
    uri = parseUriRangeBytes(s, i, ue);
    i = ue;
  }
  if (uri === null) return null;
  // Most name-addrs but From and To have no parameters: they share the frozen empty set.
  i = skipWsB(b, i, e);
  if (i === e) return { displayName, uri, params: NO_PARAMS };
  const params: MutableParams = {};
  const pend = e - off;
  if (parseHeaderParamsBytes(s, i - off, pend, params, true) !== pend) return null;
  return { displayName, uri, params };
}

/** Parses one name-addr or addr-spec with its header parameters; null when malformed. */
export function parseNameAddr(text: string): NameAddr | null {
  return parseNameAddrRange(text, 0, text.length);
}

/**
 * Appends a comma-separated list of name-addrs (Contact, Route, Record-Route) to `into`, or to a
 * new list when `into` is null; returns the list, or null if any element is malformed.
 */
export function parseNameAddrList(value: string, into: NameAddr[] | null, start = 0, end = value.length): NameAddr[] | null {
  // Elements are parsed in place between the separating commas (same rules as splitList): no
  // slices, whose characters V8 reads more slowly than the header text's own.
  if (value === scan.text) return parseNameAddrListBytes(value, into, start, end);
  let from = start;
  let angle = false;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c === DQUOTE) {
      const q = quotedEnd(value, i, end);
      if (q < 0) break;
      i = q - 1;
    } else if (c === LAQUOT) angle = true;
    else if (c === RAQUOT) angle = false;
    else if (c === COMMA && !angle) {
      const one = parseNameAddrRange(value, from, i);
      if (one === null) return null;
      into = append(into, one);
      from = i + 1;
    }
  }
  const last = parseNameAddrRange(value, from, end);
  return last === null ? null : append(into, last);
}

/** parseNameAddrList over the received bytes (see chars.ts `scan`). */
function parseNameAddrListBytes(value: string, into: NameAddr[] | null, start: number, end: number): NameAddr[] | null {
  // Without a comma there is one element (most Contacts): indexOf rules that out faster than the byte scan.
  const comma = value.indexOf(",", start);
  if (comma < 0 || comma >= end) {
    const one = parseNameAddrRangeBytes(value, start, end);
    return one === null ? null : append(into, one);
  }
  const b = scan.bytes;
  const off = scan.off;
  const e = end + off;
  let from = start;
  let angle = false;
  for (let i = start + off; i < e; i++) {
    const c = b[i];
    if (c === DQUOTE) {
      const q = quotedEndB(b, i, e);
      if (q < 0) break;
      i = q - 1;
    } else if (c === LAQUOT) angle = true;
    else if (c === RAQUOT) angle = false;
    else if (c === COMMA && !angle) {
      const one = parseNameAddrRangeBytes(value, from, i - off);
      if (one === null) return null;
      into = append(into, one);
      from = i - off + 1;
    }
  }
  const last = parseNameAddrRangeBytes(value, from, end);
  return last === null ? null : append(into, last);
}

/** `list` with `item` pushed, or a new list of one (a first push onto [] would reserve room for 17). */
function append(list: NameAddr[] | null, item: NameAddr): NameAddr[] {
  if (list === null) return [item];
  list.push(item);
  return list;
}

/** Writes a name-addr, always in the bracketed form so URI parameters cannot be read as header parameters. */
export function serializeNameAddr(v: NameAddr): string {
  const inner = "<" + serializeUri(v.uri) + ">" + serializeParams(v.params);
  return v.displayName === null ? inner : '"' + v.displayName + '" ' + inner;
}
