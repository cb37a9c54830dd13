/**
 * Character classes of the RFC 3261 section 25 grammar, as lookup tables so the scanners
 * test one array element per character instead of running a regex.
 */

export const SP = 32;
export const HT = 9;
export const CR = 13;
export const LF = 10;
export const DQUOTE = 34;
export const BACKSLASH = 92;
export const SEMI = 59;
export const COMMA = 44;
export const COLON = 58;
export const EQUAL = 61;
export const LAQUOT = 60;
export const RAQUOT = 62;
export const SLASH = 47;
export const LBRACKET = 91;
export const RBRACKET = 93;
export const QUESTION = 63;
export const AT = 64;
export const AMP = 38;

function table(chars: string, ranges: ReadonlyArray<readonly [number, number]>): Uint8Array {
  const t = new Uint8Array(128);
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) t[c] = 1;
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

const ALNUM: ReadonlyArray<readonly [number, number]> = [
  [48, 57],
  [65, 90],
  [97, 122],
];

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
const TOKEN = table("-.!%*_+`'~", ALNUM);
/** Host names, IPv4 literals; `_` tolerated because real deployments use it in labels. */
const HOST = table("-._", ALNUM);
/** scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
const SCHEME = table("+-.", ALNUM);
/** Inside an IPv6 reference: hex digits, colons, dots (IPv4-mapped tails). */
const IPV6 = table(":.", [
  [48, 57],
  [65, 70],
  [97, 102],
]);

/** True for a token character. */
export function isToken(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** True for a character of a host name or IPv4 address. */
export function isHostChar(c: number): boolean {
  return c < 128 && HOST[c] === 1;
}

/** True for a character allowed after the first one of a URI scheme. */
export function isSchemeChar(c: number): boolean {
  return c < 128 && SCHEME[c] === 1;
}

/** True for a character allowed inside an IPv6 reference. */
export function isIpv6Char(c: number): boolean {
  return c < 128 && IPV6[c] === 1;
}

/** True for SP or HT (the folding has already turned CRLF into SP). */
export function isWs(c: number): boolean {
  return c === SP || c === HT;
}

/** Index of the first non-SP/HT character at or after `i`, bounded by `end`. */
export function skipWs(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== SP && c !== HT) break;
    i++;
  }
  return i;
}

/** Index just past the closing quote of the quoted-string opening at `i`, or -1 when unterminated. */
export function quotedEnd(s: string, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === DQUOTE) return i + 1;
  }
  return -1;
}

/** True when every character of `s` is a token character (and there is at least one). */
export function isTokenString(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isToken(s.charCodeAt(i))) return false;
  return true;
}

/** Parses a decimal run of at most `maxDigits` digits; -1 when empty, not digits, or too long. */
export function parseDigits(s: string, maxDigits: number): number {
  return parseDigitsAt(s, 0, s.length, maxDigits);
}

/** parseDigits of s[start..n), without slicing it. */
export function parseDigitsAt(s: string, start: number, n: number, maxDigits: number): number {
  if (n === start) return -1;
  let i = start;
  // Leading zeros carry no value (wsinv uses Max-Forwards 0068), so they do not count toward the limit.
  while (i < n - 1 && s.charCodeAt(i) === 48) i++;
  if (n - i > maxDigits) return -1;
  let v = 0;
  for (; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * s[start..end) as a string that does not keep `s` alive. V8 returns a slice of 13 characters or
 * more as a SlicedString pointing into its parent, so one Call-ID or tag kept by a dialog would pin
 * the whole message text; slices of 12 characters or less are copied. Joining copied pieces of at
 * most 12 characters gives a string built only from copies, at a fraction of the cost of decoding
 * the value again from the datagram. Used for the values a dialog may keep (Via values are left
 * sliced: they live only as long as their transaction, which keeps the whole message anyway).
 */
export function flatSlice(s: string, start: number, end: number): string {
  if (end - start <= 12) return s.slice(start, end);
  let out = s.slice(start, start + 12);
  for (let i = start + 12; i < end; i += 12) out += s.slice(i, i + 12 < end ? i + 12 : end);
  return out;
}

/** The empty list shared by every parsed message without Contact, Route, Record-Route or other headers; frozen, so never written. */
export const NO_ITEMS: readonly never[] = Object.freeze([]);

/** The empty parameter set shared by every URI parsed without parameters; frozen, so never written. */
export const NO_PARAMS: Readonly<Record<string, string | null>> = Object.freeze({});

/**
 * The received bytes behind the header text being parsed, when every character of the text came
 * from one byte at the same offset (parseMessage sets it around parseHead, which is synchronous
 * and never nests). Scanners then read bytes from the Uint8Array, which V8 loads at about half
 * the cost of a charCodeAt, and make strings only for the values kept, as slices of the text.
 * A byte >= 128 stands where the text has a non-ASCII character (or U+FFFD): every class table
 * below treats all of them alike, as the string tables treat every code >= 128.
 */
export const scan: { text: string; bytes: Uint8Array; off: number } = { text: "", bytes: Buffer.alloc(0), off: 0 };

/** Makes `bytes[off + i]` the source of text.charCodeAt(i) for the scanners until clearScan. */
export function setScan(text: string, bytes: Uint8Array, off: number): void {
  scan.text = text;
  scan.bytes = bytes;
  scan.off = off;
}

/** Forgets the bytes set by setScan (a pooled datagram buffer may be reused afterwards). */
export function clearScan(): void {
  scan.text = "";
  scan.bytes = EMPTY_BYTES;
  scan.off = 0;
}

// A Buffer like the datagrams, so the scanners' loads see one kind of array.
const EMPTY_BYTES = Buffer.alloc(0);

function table256(ascii: Uint8Array, high: number): Uint8Array {
  const t = new Uint8Array(256);
  t.set(ascii);
  for (let c = 128; c < 256; c++) t[c] = high;
  return t;
}

/** Byte classes for the scanners over bytes: token characters (none >= 128). */
export const TOKEN_B = table256(TOKEN, 0);
/** Host name and IPv4 characters (isHostChar), none >= 128. */
export const HOST_B = table256(HOST, 0);
/** IPv6 reference characters (isIpv6Char), none >= 128. */
export const IPV6_B = table256(IPV6, 0);

/** skipWs over bytes: the first index from `i` that is not SP or HT (or `e`). */
export function skipWsB(b: Uint8Array, i: number, e: number): number {
  while (i < e && (b[i] === SP || b[i] === HT)) i++;
  return i;
}

/** Where the run of token characters starting at b[i] ends (`i` when there is none). */
export function tokenEndB(b: Uint8Array, i: number, e: number): number {
  while (i < e && TOKEN_B[b[i]!] === 1) i++;
  return i;
}

/** quotedEnd over bytes: index just past the closing quote of the quoted-string opening at b[i], or -1. */
export function quotedEndB(b: Uint8Array, i: number, e: number): number {
  for (i++; i < e; i++) {
    const c = b[i];
    if (c === BACKSLASH) i++;
    else if (c === DQUOTE) return i + 1;
  }
  return -1;
}

/** Where the host starting at s[i] ends (an IPv6 reference in brackets, or host characters); -1 when there is none. */
export function scanHost(s: string, i: number, end: number): number {
  if (i < end && s.charCodeAt(i) === 91) {
    const close = s.indexOf("]", i);
    if (close < 0 || close >= end || close === i + 1) return -1;
    for (let k = i + 1; k < close; k++) if (!isIpv6Char(s.charCodeAt(k))) return -1;
    return close + 1;
  }
  let j = i;
  while (j < end && isHostChar(s.charCodeAt(j))) j++;
  return j === i ? -1 : j;
}

/** scanHost over bytes: where the host starting at `i` of `b` ends (an IPv6 reference in brackets, or host characters); -1 when there is none. */
export function scanHostB(b: Uint8Array, i: number, e: number): number {
  if (i < e && b[i] === 91) {
    let close = i + 1;
    while (close < e && b[close] !== 93) close++;
    if (close >= e || close === i + 1) return -1;
    for (let k = i + 1; k < close; k++) if (IPV6_B[b[k]!] !== 1) return -1;
    return close + 1;
  }
  let j = i;
  while (j < e && HOST_B[b[j]!] === 1) j++;
  return j === i ? -1 : j;
}
/** Characters a URI never holds raw (whitespace, controls, DEL, < > "); no byte >= 128. */
export const URI_FORBIDDEN_B = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c <= 32; c++) t[c] = 1;
  t[127] = t[60] = t[62] = t[DQUOTE] = 1;
  return t;
})();
/** gen-value characters (see isGenValueChar): visible, not ; , " DEL; every byte >= 128. */
export const GENVALUE_B = (() => {
  const t = new Uint8Array(256);
  for (let c = 33; c < 256; c++) t[c] = 1;
  t[SEMI] = t[COMMA] = t[DQUOTE] = t[127] = 0;
  return t;
})();
