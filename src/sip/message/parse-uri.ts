import { COLON, NO_PARAMS, QUESTION, SEMI, URI_FORBIDDEN_B, flatSlice, isSchemeChar, scan, scanHost, scanHostB } from "./chars.ts";
import { knownParamName, knownParamNameB, lowerAscii, serializeParams, setParam } from "./params.ts";
import type { MutableParams } from "./params.ts";
import type { OtherUri, Params, SipUri, TelUri, Uri } from "./types.ts";

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** A URI never holds raw whitespace, angle brackets or double quotes (RFC 3986 excluded characters). */
function hasForbidden(s: string, from = 0, to = s.length): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c === 127 || c === 60 || c === 62 || c === 34) return true;
  }
  return false;
}

/** Parses `;name[=value]` URI parameters from s[i..end) up to '?' or end; -1 on an empty name. */
function parseUriParams(s: string, i: number, end: number, out: MutableParams): number {
  while (i < end && s.charCodeAt(i) === SEMI) {
    let j = i + 1;
    while (j < end) {
      const c = s.charCodeAt(j);
      if (c === SEMI || c === QUESTION) break;
      if (c <= 32 || c === 127 || c === 60 || c === 62 || c === 34) return -1;
      j++;
    }
    let eq = i + 1;
    while (eq < j && s.charCodeAt(eq) !== 61) eq++;
    if (eq === i + 1) return -1;
    const name = knownParamName(s, i + 1, eq) ?? lowerAscii(s.slice(i + 1, eq));
    setParam(out, name, eq < j ? flatSlice(s, eq + 1, j) : null);
    i = j;
  }
  return i;
}

const NO_HEADERS: ReadonlyArray<readonly [string, string]> = Object.freeze([]);

function parseSipUri(s: string, scheme: "sip" | "sips", i: number, end: number): SipUri | null {
  if (s === scan.text) return parseSipUriBytes(s, scheme, i, end);
  let user: string | null = null;
  let password: string | null = null;
  // The user part may hold ';', '?' and ':' (RFC 4475 semiuri, intmeth) but never a raw '@',
  // so the first '@' ends the userinfo.
  let at = s.indexOf("@", i);
  if (at >= end) at = -1;
  if (at >= 0) {
    const colon = s.indexOf(":", i);
    if (colon >= 0 && colon < at) {
      user = flatSlice(s, i, colon);
      password = flatSlice(s, colon + 1, at);
    } else {
      user = flatSlice(s, i, at);
    }
    // The host, port and parameter scanners check their own characters; the userinfo has none.
    if (user.length === 0 || hasForbidden(s, i, at)) return null;
    i = at + 1;
  }
  const hs = i;
  i = scanHost(s, i, end);
  if (i < 0) return null;
  const host = flatSlice(s, hs, i);
  let port: number | null = null;
  if (i < end && s.charCodeAt(i) === COLON) {
    const ps = ++i;
    let v = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    if (i === ps || i - ps > 5 || v > 65535) return null;
    port = v;
  }
  // Most URIs carry no parameters: they share one frozen empty set (values are immutable).
  let params: Params = NO_PARAMS;
  if (i < end && s.charCodeAt(i) === SEMI) {
    const p: MutableParams = {};
    i = parseUriParams(s, i, end, p);
    params = p;
    if (i < 0) return null;
  }
  if (i >= end) return { scheme, user, password, host, port, params, headers: NO_HEADERS };
  const headers = parseUriHeaders(s, i, end);
  return headers === null ? null : { scheme, user, password, host, port, params, headers };
}

/** parseUriParams over bytes b[i..e) (see chars.ts `scan`); `s` at offset -off gives the text. Returns a byte index or -1. */
function parseUriParamsB(b: Uint8Array, s: string, off: number, i: number, e: number, out: MutableParams): number {
  while (i < e && b[i] === SEMI) {
    let j = i + 1;
    while (j < e) {
      const c = b[j]!;
      if (c === SEMI || c === QUESTION) break;
      if (URI_FORBIDDEN_B[c] === 1) return -1;
      j++;
    }
    let eq = i + 1;
    while (eq < j && b[eq] !== 61) eq++;
    if (eq === i + 1) return -1;
    const name = knownParamNameB(b, i + 1, eq) ?? lowerAscii(s.slice(i + 1 - off, eq - off));
    setParam(out, name, eq < j ? flatSlice(s, eq + 1 - off, j - off) : null);
    i = j;
  }
  return i;
}

/** parseSipUri over the received bytes (see chars.ts `scan`): same grammar, strings sliced from `s`. */
function parseSipUriBytes(s: string, scheme: "sip" | "sips", start: number, end: number): SipUri | null {
  const b = scan.bytes;
  const off = scan.off;
  const e = end + off;
  let i = start + off;
  let user: string | null = null;
  let password: string | null = null;
  // The first '@' ends the userinfo (see parseSipUri); indexOf finds it faster than a byte loop.
  let at = s.indexOf("@", i - off) + off;
  if (at < i || at > e) at = e;
  if (at < e) {
    // One pass checks the userinfo and finds the ':' before a password.
    let colon = at;
    for (let k = i; k < at; k++) {
      const c = b[k]!;
      if (URI_FORBIDDEN_B[c] === 1) return null;
      if (c === COLON && colon === at) colon = k;
    }
    if (colon < at) {
      user = flatSlice(s, i - off, colon - off);
      password = flatSlice(s, colon + 1 - off, at - off);
    } else {
      user = flatSlice(s, i - off, at - off);
    }
    if (user.length === 0) return null;
    i = at + 1;
  }
  const hs = i;
  i = scanHostB(b, i, e);
  if (i < 0) return null;
  const host = flatSlice(s, hs - off, i - off);
  let port: number | null = null;
  if (i < e && b[i] === COLON) {
    const ps = ++i;
    let v = 0;
    while (i < e) {
      const c = b[i]!;
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    if (i === ps || i - ps > 5 || v > 65535) return null;
    port = v;
  }
  let params: Params = NO_PARAMS;
  if (i < e && b[i] === SEMI) {
    const p: MutableParams = {};
    i = parseUriParamsB(b, s, off, i, e, p);
    params = p;
    if (i < 0) return null;
  }
  if (i >= e) return { scheme, user, password, host, port, params, headers: NO_HEADERS };
  // URI headers are rare: read by the string code.
  const headers = parseUriHeaders(s, i - off, end);
  return headers === null ? null : { scheme, user, password, host, port, params, headers };
}

/** The `?name=value&...` part of a SIP URI at s[i..end) (s[i] must be '?'), or null when malformed. */
function parseUriHeaders(s: string, i: number, end: number): Array<readonly [string, string]> | null {
  if (s.charCodeAt(i) !== QUESTION || hasForbidden(s, i, end)) return null;
  const headers: Array<readonly [string, string]> = [];
  i++;
  while (i <= end) {
    let j = s.indexOf("&", i);
    if (j < 0 || j > end) j = end;
    const eq = s.indexOf("=", i);
    if (eq < 0 || eq >= j || eq === i) return null;
    headers.push([flatSlice(s, i, eq), flatSlice(s, eq + 1, j)]);
    i = j + 1;
  }
  return headers;
}

function parseTelUri(s: string, i: number, end: number): TelUri | null {
  let semi = s.indexOf(";", i);
  if (semi < 0 || semi > end) semi = end;
  if (semi === i) return null;
  if (semi === end) return { scheme: "tel", number: flatSlice(s, i, semi), params: NO_PARAMS };
  const params: MutableParams = {};
  if (parseUriParams(s, semi, end, params) !== end) return null;
  return { scheme: "tel", number: flatSlice(s, i, semi), params };
}

/** Parses an absolute URI: sip/sips and tel into their structures, any other scheme kept opaque; null when malformed. */
export function parseUri(text: string): Uri | null {
  return parseUriRange(text, 0, text.length);
}

/**
 * Parses the URI written at text[start..end). The parser hands ranges of the header text rather
 * than slices: V8 reads characters of a sliced string through an indirection on every
 * charCodeAt, which made the URI and Via scanners half again slower on slices.
 */
export function parseUriRange(text: string, start: number, end: number): Uri | null {
  const n = end - start;
  // Fast path for the scheme nearly every URI has: no scheme scan, no lower-casing.
  if (n > 4 && text.charCodeAt(start + 3) === COLON && (text.charCodeAt(start) | 32) === 115 && (text.charCodeAt(start + 1) | 32) === 105 && (text.charCodeAt(start + 2) | 32) === 112) {
    return parseSipUri(text, "sip", start + 4, end);
  }
  if (n < 3 || !isAlpha(text.charCodeAt(start))) return null;
  let i = start + 1;
  while (i < end && isSchemeChar(text.charCodeAt(i))) i++;
  if (i >= end || text.charCodeAt(i) !== COLON || i + 1 >= end) return null;
  const raw = text.slice(start, i);
  const scheme = raw.length <= 4 ? raw.toLowerCase() : raw;
  if (scheme === "sip" || scheme === "sips") return parseSipUri(text, scheme, i + 1, end);
  if (hasForbidden(text, start, end)) return null;
  if (scheme === "tel") return parseTelUri(text, i + 1, end);
  const other: OtherUri = { scheme: scheme.toLowerCase(), opaque: flatSlice(text, i + 1, end) };
  return other;
}

/** parseUriRange for the URI at bytes scan.bytes[bs..be) behind the text `s` (see chars.ts `scan`). */
export function parseUriRangeBytes(s: string, bs: number, be: number): Uri | null {
  const b = scan.bytes;
  // The same fast path for "sip:" as parseUriRange, read from the bytes.
  if (be - bs > 4 && b[bs + 3] === COLON && (b[bs]! | 32) === 115 && (b[bs + 1]! | 32) === 105 && (b[bs + 2]! | 32) === 112) {
    return parseSipUriBytes(s, "sip", bs + 4 - scan.off, be - scan.off);
  }
  return parseUriRange(s, bs - scan.off, be - scan.off);
}

/** True for a sip: or sips: URI. */
export function isSipUri(uri: Uri): uri is SipUri {
  return uri.scheme === "sip" || uri.scheme === "sips";
}

/** True for a tel: URI. */
export function isTelUri(uri: Uri): uri is TelUri {
  return uri.scheme === "tel";
}

/** Writes a URI back in its wire form. */
export function serializeUri(uri: Uri): string {
  if (uri.scheme === "sip" || uri.scheme === "sips") {
    const u = uri as SipUri;
    let out = u.scheme + ":";
    if (u.user !== null) out += u.password !== null ? u.user + ":" + u.password + "@" : u.user + "@";
    out += u.host;
    if (u.port !== null) out += ":" + u.port;
    out += serializeParams(u.params);
    const h = u.headers;
    for (let k = 0; k < h.length; k++) {
      const pair = h[k]!;
      out += (k === 0 ? "?" : "&") + pair[0] + "=" + pair[1];
    }
    return out;
  }
  if (uri.scheme === "tel") {
    const t = uri as TelUri;
    return "tel:" + t.number + serializeParams(t.params);
  }
  return uri.scheme + ":" + (uri as OtherUri).opaque;
}

