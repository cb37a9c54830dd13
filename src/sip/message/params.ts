import { DQUOTE, EQUAL, GENVALUE_B, NO_PARAMS, SEMI, flatSlice, isToken, quotedEnd, quotedEndB, scan, skipWs, skipWsB, tokenEndB } from "./chars.ts";
import type { Params } from "./types.ts";

/** Parameters while a parser or builder fills them; handed out as the immutable Params. */
export type MutableParams = Record<string, string | null>;

/** Lower-cases `s` only when it holds an upper-case ASCII letter (most parameter names do not). */
export function lowerAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
  }
  return s;
}

/** Stores a parameter unless already present (first occurrence wins) or it would touch the prototype. */
export function setParam(out: MutableParams, name: string, value: string | null): void {
  // V8 adds a property through a computed key on a slow runtime path (several times the cost of
  // a named store), so the names that fill nearly every message get named stores.
  switch (name) {
    case "tag":
      if (out.tag === undefined) out.tag = value;
      return;
    case "branch":
      if (out.branch === undefined) out.branch = value;
      return;
    case "received":
      if (out.received === undefined) out.received = value;
      return;
    case "rport":
      if (out.rport === undefined) out.rport = value;
      return;
    case "lr":
      if (out.lr === undefined) out.lr = value;
      return;
    case "transport":
      if (out.transport === undefined) out.transport = value;
      return;
    case "user":
      if (out.user === undefined) out.user = value;
      return;
    case "expires":
      if (out.expires === undefined) out.expires = value;
      return;
    case "q":
      if (out.q === undefined) out.q = value;
      return;
    case "maddr":
      if (out.maddr === undefined) out.maddr = value;
      return;
    case "ttl":
      if (out.ttl === undefined) out.ttl = value;
      return;
    case "__proto__":
      return;
  }
  // The undefined test settles the common case; hasOwn only runs for names the prototype also has.
  if (out[name] !== undefined && Object.hasOwn(out, name)) return;
  out[name] = value;
}

/**
 * The literal of a common parameter name written at s[start..end), ASCII case ignored, or null.
 * Recognising the name in place spares a slice and lower-casing per parameter, and the literal
 * is an internalized string, so setParam's switch and the property store compare pointers.
 * The comparisons are written out: OR-ing 0x20 lower-cases A-Z and maps no other token
 * character onto a-z, and inline charCodeAt tests beat a loop over the literal several times.
 */
export function knownParamName(s: string, start: number, end: number): string | null {
  switch (end - start) {
    case 1:
      return (s.charCodeAt(start) | 32) === 113 ? "q" : null;
    case 2:
      return ((s.charCodeAt(start) | 32) === 108 && (s.charCodeAt(start + 1) | 32) === 114) ? "lr" : null;
    case 3:
      if (((s.charCodeAt(start) | 32) === 116 && (s.charCodeAt(start + 1) | 32) === 97 && (s.charCodeAt(start + 2) | 32) === 103)) return "tag";
      return ((s.charCodeAt(start) | 32) === 116 && (s.charCodeAt(start + 1) | 32) === 116 && (s.charCodeAt(start + 2) | 32) === 108) ? "ttl" : null;
    case 4:
      return ((s.charCodeAt(start) | 32) === 117 && (s.charCodeAt(start + 1) | 32) === 115 && (s.charCodeAt(start + 2) | 32) === 101 && (s.charCodeAt(start + 3) | 32) === 114) ? "user" : null;
    case 5:
      if (((s.charCodeAt(start) | 32) === 114 && (s.charCodeAt(start + 1) | 32) === 112 && (s.charCodeAt(start + 2) | 32) === 111 && (s.charCodeAt(start + 3) | 32) === 114 && (s.charCodeAt(start + 4) | 32) === 116)) return "rport";
      return ((s.charCodeAt(start) | 32) === 109 && (s.charCodeAt(start + 1) | 32) === 97 && (s.charCodeAt(start + 2) | 32) === 100 && (s.charCodeAt(start + 3) | 32) === 100 && (s.charCodeAt(start + 4) | 32) === 114) ? "maddr" : null;
    case 6:
      return ((s.charCodeAt(start) | 32) === 98 && (s.charCodeAt(start + 1) | 32) === 114 && (s.charCodeAt(start + 2) | 32) === 97 && (s.charCodeAt(start + 3) | 32) === 110 && (s.charCodeAt(start + 4) | 32) === 99 && (s.charCodeAt(start + 5) | 32) === 104) ? "branch" : null;
    case 7:
      return ((s.charCodeAt(start) | 32) === 101 && (s.charCodeAt(start + 1) | 32) === 120 && (s.charCodeAt(start + 2) | 32) === 112 && (s.charCodeAt(start + 3) | 32) === 105 && (s.charCodeAt(start + 4) | 32) === 114 && (s.charCodeAt(start + 5) | 32) === 101 && (s.charCodeAt(start + 6) | 32) === 115) ? "expires" : null;
    case 8:
      return ((s.charCodeAt(start) | 32) === 114 && (s.charCodeAt(start + 1) | 32) === 101 && (s.charCodeAt(start + 2) | 32) === 99 && (s.charCodeAt(start + 3) | 32) === 101 && (s.charCodeAt(start + 4) | 32) === 105 && (s.charCodeAt(start + 5) | 32) === 118 && (s.charCodeAt(start + 6) | 32) === 101 && (s.charCodeAt(start + 7) | 32) === 100) ? "received" : null;
    case 9:
      return ((s.charCodeAt(start) | 32) === 116 && (s.charCodeAt(start + 1) | 32) === 114 && (s.charCodeAt(start + 2) | 32) === 97 && (s.charCodeAt(start + 3) | 32) === 110 && (s.charCodeAt(start + 4) | 32) === 115 && (s.charCodeAt(start + 5) | 32) === 112 && (s.charCodeAt(start + 6) | 32) === 111 && (s.charCodeAt(start + 7) | 32) === 114 && (s.charCodeAt(start + 8) | 32) === 116) ? "transport" : null;
  }
  return null;
}

function isGenValueChar(c: number): boolean {
  // gen-value = token / host / quoted-string: hosts add ':' '[' ']' (RFC 5118 received=), and
  // UTF-8 shows up in the wild (RFC 4475 intmeth), so anything visible that does not delimit is taken.
  return c > 32 && c !== SEMI && c !== 44 && c !== DQUOTE && c !== 127;
}

/**
 * Parses `*( SEMI generic-param )` with LWS around `;` and `=` (RFC 3261 25.1 SEMI/EQUAL),
 * from `i` up to `end`. Returns where it stopped (the caller decides whether that is the end),
 * or -1 on an empty name or value. With `copy`, values are made with flatSlice so a kept tag does
 * not pin the message text; Via passes false: its values live as long as the transaction, which
 * keeps the whole message anyway.
 */
export function parseHeaderParams(s: string, i: number, end: number, out: MutableParams, copy = true): number {
  if (s === scan.text) return parseHeaderParamsBytes(s, i, end, out, copy);
  for (;;) {
    i = skipWs(s, i, end);
    if (i >= end || s.charCodeAt(i) !== SEMI) return i;
    i = skipWs(s, i + 1, end);
    const ns = i;
    while (i < end && isToken(s.charCodeAt(i))) i++;
    if (i === ns) return -1;
    const name = knownParamName(s, ns, i) ?? lowerAscii(flatSlice(s, ns, i));
    i = skipWs(s, i, end);
    let value: string | null = null;
    if (i < end && s.charCodeAt(i) === EQUAL) {
      i = skipWs(s, i + 1, end);
      if (i < end && s.charCodeAt(i) === DQUOTE) {
        const q = quotedEnd(s, i, end);
        if (q < 0) return -1;
        value = copy ? flatSlice(s, i, q) : s.slice(i, q);
        i = q;
      } else {
        const vs = i;
        while (i < end && isGenValueChar(s.charCodeAt(i))) i++;
        if (i === vs) return -1;
        value = copy ? flatSlice(s, vs, i) : s.slice(vs, i);
      }
    }
    setParam(out, name, value);
  }
}

/** knownParamName over bytes b[start..end). */
export function knownParamNameB(b: Uint8Array, start: number, end: number): string | null {
  switch (end - start) {
    case 1:
      return (b[start]! | 32) === 113 ? "q" : null;
    case 2:
      return (b[start]! | 32) === 108 && (b[start + 1]! | 32) === 114 ? "lr" : null;
    case 3: {
      const a = b[start]! | 32;
      const c = b[start + 1]! | 32;
      const d = b[start + 2]! | 32;
      if (a === 116 && c === 97 && d === 103) return "tag";
      return a === 116 && c === 116 && d === 108 ? "ttl" : null;
    }
    case 4:
      return (b[start]! | 32) === 117 && (b[start + 1]! | 32) === 115 && (b[start + 2]! | 32) === 101 && (b[start + 3]! | 32) === 114 ? "user" : null;
    case 5:
      if ((b[start]! | 32) === 114 && (b[start + 1]! | 32) === 112 && (b[start + 2]! | 32) === 111 && (b[start + 3]! | 32) === 114 && (b[start + 4]! | 32) === 116) return "rport";
      return (b[start]! | 32) === 109 && (b[start + 1]! | 32) === 97 && (b[start + 2]! | 32) === 100 && (b[start + 3]! | 32) === 100 && (b[start + 4]! | 32) === 114 ? "maddr" : null;
    case 6:
      return (b[start]! | 32) === 98 && (b[start + 1]! | 32) === 114 && (b[start + 2]! | 32) === 97 && (b[start + 3]! | 32) === 110 && (b[start + 4]! | 32) === 99 && (b[start + 5]! | 32) === 104 ? "branch" : null;
    case 7:
      return (b[start]! | 32) === 101 && (b[start + 1]! | 32) === 120 && (b[start + 2]! | 32) === 112 && (b[start + 3]! | 32) === 105 && (b[start + 4]! | 32) === 114 && (b[start + 5]! | 32) === 101 && (b[start + 6]! | 32) === 115 ? "expires" : null;
    case 8:
      return (b[start]! | 32) === 114 && (b[start + 1]! | 32) === 101 && (b[start + 2]! | 32) === 99 && (b[start + 3]! | 32) === 101 && (b[start + 4]! | 32) === 105 && (b[start + 5]! | 32) === 118 && (b[start + 6]! | 32) === 101 && (b[start + 7]! | 32) === 100 ? "received" : null;
    case 9:
      return (b[start]! | 32) === 116 && (b[start + 1]! | 32) === 114 && (b[start + 2]! | 32) === 97 && (b[start + 3]! | 32) === 110 && (b[start + 4]! | 32) === 115 && (b[start + 5]! | 32) === 112 && (b[start + 6]! | 32) === 111 && (b[start + 7]! | 32) === 114 && (b[start + 8]! | 32) === 116 ? "transport" : null;
  }
  return null;
}

/**
 * parseHeaderParams over the received bytes (see chars.ts `scan`): the same grammar, read from
 * scan.bytes at the text's offsets plus scan.off; names and values are slices of `s`.
 */
export function parseHeaderParamsBytes(s: string, i: number, end: number, out: MutableParams, copy: boolean): number {
  const b = scan.bytes;
  const off = scan.off;
  let k = i + off;
  const e = end + off;
  for (;;) {
    k = skipWsB(b, k, e);
    if (k >= e || b[k] !== SEMI) return k - off;
    const ns = skipWsB(b, k + 1, e);
    k = tokenEndB(b, ns, e);
    if (k === ns) return -1;
    const name = knownParamNameB(b, ns, k) ?? lowerAscii(flatSlice(s, ns - off, k - off));
    k = skipWsB(b, k, e);
    let value: string | null = null;
    if (k < e && b[k] === EQUAL) {
      k = skipWsB(b, k + 1, e);
      if (k < e && b[k] === DQUOTE) {
        const qs = k;
        const q = quotedEndB(b, k, e);
        if (q < 0) return -1;
        value = copy ? flatSlice(s, qs - off, q - off) : s.slice(qs - off, q - off);
        k = q;
      } else {
        const vs = k;
        while (k < e && GENVALUE_B[b[k]!] === 1) k++;
        if (k === vs) return -1;
        value = copy ? flatSlice(s, vs - off, k - off) : s.slice(vs - off, k - off);
      }
    }
    setParam(out, name, value);
  }
}

/** Writes `;name=value` pairs in insertion order. */
export function serializeParams(params: Params): string {
  // The shared empty set of URIs without parameters: a for-in over a frozen object is slow.
  if (params === NO_PARAMS) return "";
  let out = "";
  for (const k in params) {
    const v = params[k];
    out += v === null || v === undefined ? ";" + k : ";" + k + "=" + v;
  }
  return out;
}
