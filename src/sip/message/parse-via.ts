import { COLON, HT, SLASH, SP, isToken, isWs, parseDigits, scan, scanHost, scanHostB, skipWs, skipWsB, tokenEndB } from "./chars.ts";
import { parseHeaderParams, parseHeaderParamsBytes, serializeParams } from "./params.ts";
import type { MutableParams } from "./params.ts";
import type { Via } from "./types.ts";

function upperAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) return s.toUpperCase();
  }
  return s;
}

/** The transport token at s[i..j) upper-cased; the usual ones come back as literals, without a slice. */
function transportAt(s: string, i: number, j: number): string {
  if (j - i === 3) {
    // Clearing 0x20 upper-cases a-z and maps no other token character onto A-Z.
    const a = s.charCodeAt(i) & ~32;
    const b = s.charCodeAt(i + 1) & ~32;
    const c = s.charCodeAt(i + 2) & ~32;
    if (a === 85 && b === 68 && c === 80) return "UDP";
    if (a === 84 && b === 67 && c === 80) return "TCP";
    if (a === 84 && b === 76 && c === 83) return "TLS";
    if (a === 87 && b === 83 && c === 83) return "WSS";
  }
  return upperAscii(s.slice(i, j));
}

function readToken(s: string, i: number, end: number): number {
  while (i < end && isToken(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Parses one via-parm: sent-protocol LWS sent-by *( SEMI via-params ) (RFC 3261 20.42),
 * with LWS allowed around every '/' and ':' (RFC 4475 wsinv). `anyVersion` accepts a SIP
 * version other than 2.0, which only the stateless 505 path needs.
 */
export function parseViaValue(s: string, start: number, end: number, anyVersion = false): Via | null {
  const v = parseViaAt(s, start, end, anyVersion);
  return v !== null && stop === end ? v : null;
}

/** Where the last parseViaAt stopped: `end`, or the index of the ',' before the next value. */
let stop = 0;

/** Parses one via-parm from `start`, stopping at `end` or at a ',' (recorded in `stop`). */
function parseViaAt(s: string, start: number, end: number, anyVersion: boolean): Via | null {
  if (s === scan.text) return parseViaAtBytes(s, start, end, anyVersion);
  let i = skipWs(s, start, end);
  let j = readToken(s, i, end);
  // "SIP" compared case-insensitively by OR-ing in the ASCII lower-case bit.
  if (j - i !== 3 || (s.charCodeAt(i) | 32) !== 115 || (s.charCodeAt(i + 1) | 32) !== 105 || (s.charCodeAt(i + 2) | 32) !== 112) return null;
  i = skipWs(s, j, end);
  if (s.charCodeAt(i) !== SLASH) return null;
  i = skipWs(s, i + 1, end);
  j = readToken(s, i, end);
  if (j === i || (!anyVersion && (j - i !== 3 || s.charCodeAt(i) !== 50 || s.charCodeAt(i + 1) !== 46 || s.charCodeAt(i + 2) !== 48))) return null;
  i = skipWs(s, j, end);
  if (s.charCodeAt(i) !== SLASH) return null;
  i = skipWs(s, i + 1, end);
  j = readToken(s, i, end);
  if (j === i) return null;
  const transport = transportAt(s, i, j);
  if (j >= end || !isWs(s.charCodeAt(j))) return null;
  i = skipWs(s, j, end);
  const hs = i;
  i = scanHost(s, i, end);
  if (i < 0) return null;
  // Sliced, not copied: a Via lives as long as its transaction, which keeps the whole message.
  const host = s.slice(hs, i);
  let port: number | null = null;
  let k = skipWs(s, i, end);
  if (k < end && s.charCodeAt(k) === COLON) {
    k = skipWs(s, k + 1, end);
    const ps = k;
    while (k < end) {
      const c = s.charCodeAt(k);
      if (c < 48 || c > 57) break;
      k++;
    }
    port = parseDigits(s.slice(ps, k), 5);
    if (port < 0 || port > 65535) return null;
    i = k;
  }
  const params: MutableParams = {};
  i = parseHeaderParams(s, i, end, params, false);
  if (i < 0 || (i < end && s.charCodeAt(i) !== 44)) return null;
  stop = i;
  return { transport, host, port, params };
}

/** The transport token at bytes b[i..j) upper-cased (transportAt over bytes); `s` at offset -off gives the text. */
function transportAtB(b: Uint8Array, i: number, j: number, s: string, off: number): string {
  if (j - i === 3) {
    const a = b[i]! & ~32;
    const c1 = b[i + 1]! & ~32;
    const c2 = b[i + 2]! & ~32;
    if (a === 85 && c1 === 68 && c2 === 80) return "UDP";
    if (a === 84 && c1 === 67 && c2 === 80) return "TCP";
    if (a === 84 && c1 === 76 && c2 === 83) return "TLS";
    if (a === 87 && c1 === 83 && c2 === 83) return "WSS";
  }
  return upperAscii(s.slice(i - off, j - off));
}

/** parseViaAt over the received bytes (see chars.ts `scan`): same grammar, strings sliced from `s`. */
function parseViaAtBytes(s: string, start: number, end: number, anyVersion: boolean): Via | null {
  const b = scan.bytes;
  const off = scan.off;
  const e = end + off;
  let i = skipWsB(b, start + off, e);
  let j = tokenEndB(b, i, e);
  if (j - i !== 3 || (b[i]! | 32) !== 115 || (b[i + 1]! | 32) !== 105 || (b[i + 2]! | 32) !== 112) return null;
  i = skipWsB(b, j, e);
  if (i >= e || b[i] !== SLASH) return null;
  i = skipWsB(b, i + 1, e);
  j = tokenEndB(b, i, e);
  if (j === i || (!anyVersion && (j - i !== 3 || b[i] !== 50 || b[i + 1] !== 46 || b[i + 2] !== 48))) return null;
  i = skipWsB(b, j, e);
  if (i >= e || b[i] !== SLASH) return null;
  i = skipWsB(b, i + 1, e);
  j = tokenEndB(b, i, e);
  if (j === i) return null;
  const transport = transportAtB(b, i, j, s, off);
  if (j >= e || (b[j] !== SP && b[j] !== HT)) return null;
  i = skipWsB(b, j, e);
  const hs = i;
  i = scanHostB(b, i, e);
  if (i < 0) return null;
  // Sliced, not copied: a Via lives as long as its transaction, which keeps the whole message.
  const host = s.slice(hs - off, i - off);
  let port: number | null = null;
  let k = skipWsB(b, i, e);
  if (k < e && b[k] === COLON) {
    k = skipWsB(b, k + 1, e);
    const ps = k;
    while (k < e && b[k]! >= 48 && b[k]! <= 57) k++;
    port = parseDigits(s.slice(ps - off, k - off), 5);
    if (port < 0 || port > 65535) return null;
    i = k;
  }
  const params: MutableParams = {};
  const p = parseHeaderParamsBytes(s, i - off, end, params, false);
  if (p < 0 || (p < end && s.charCodeAt(p) !== 44)) return null;
  stop = p;
  return { transport, host, port, params };
}

/** Parses a Via header value (one or more comma-separated via-parms); null when any is malformed. */
export function parseVia(text: string): Via[] | null {
  return parseViaInto(text, null);
}

/**
 * Appends the Via values of one header line to `into`, or to a new list when `into` is null;
 * returns the list, or null when malformed.
 */
export function parseViaInto(text: string, into: Via[] | null, anyVersion = false, start = 0, end = text.length): Via[] | null {
  // Values are read in place, one after another: no split, no per-value slices.
  let i = start;
  const bytes = text === scan.text;
  for (;;) {
    const v = bytes ? parseViaAtBytes(text, i, end, anyVersion) : parseViaAt(text, i, end, anyVersion);
    if (v === null) return null;
    // A new list starts as a literal of one: a first push would reserve room for 17.
    if (into === null) into = [v];
    else into.push(v);
    if (stop >= end) return into;
    i = stop + 1;
  }
}

/** Writes one Via value (without the header name). */
export function serializeVia(v: Via): string {
  return "SIP/2.0/" + v.transport + " " + v.host + (v.port === null ? "" : ":" + v.port) + serializeParams(v.params);
}
