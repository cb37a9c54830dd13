import { type Result, ok, err } from "../lib/index.ts";

/** An IP address: IPv4 as an unsigned 32-bit number, IPv6 as a 128-bit bigint. */
export type IpAddress = { readonly family: 4; readonly value: number } | { readonly family: 6; readonly value: bigint };

/** A parsed CIDR block; `base` has the host bits cleared. */
export type Cidr =
  | { readonly family: 4; readonly base: number; readonly prefixLength: number; readonly text: string }
  | { readonly family: 6; readonly base: bigint; readonly prefixLength: number; readonly text: string };

const ALL_ONES_128 = (1n << 128n) - 1n;

function parseIpv4(text: string): number | undefined {
  let value = 0;
  let octets = 0;
  let i = 0;
  const n = text.length;
  while (octets < 4) {
    const start = i;
    let octet = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
    }
    const digits = i - start;
    // Leading zeros are refused: some stacks read them as octal, so "010" would be ambiguous.
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && text.charCodeAt(start) === 48)) return undefined;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(i) !== 46) return undefined; // '.'
      i++;
    }
  }
  return i === n ? value : undefined;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

// Hand-written single pass: the regex-and-split version cost about 5 µs per address, and every
// request from an IPv6 peer goes through here.
function parseIpv6Hex(text: string): string | undefined {
  let body = text;
  // An embedded IPv4 tail (::ffff:192.0.2.1, 64:ff9b::192.0.2.1) stands for the last two hextets.
  let tail: number[] = [];
  if (body.includes(".")) {
    const lastColon = body.lastIndexOf(":");
    const v4 = parseIpv4(body.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >>> 16, v4 & 0xffff];
    body = body.slice(0, lastColon + 1);
    if (!body.endsWith("::")) body = body.slice(0, -1);
  }
  const groups: number[] = [];
  let gap = -1; // index in groups where "::" stands
  let i = 0;
  const n = body.length;
  if (body.startsWith("::")) {
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let v = 0;
    let digits = 0;
    for (; i < n; i++) {
      const d = hexDigit(body.charCodeAt(i));
      if (d < 0) break;
      v = v * 16 + d;
      digits++;
    }
    if (digits === 0 || digits > 4) return undefined;
    groups.push(v);
    if (i === n) break;
    if (body.charCodeAt(i) !== 58) return undefined; // ':'
    i++;
    if (i < n && body.charCodeAt(i) === 58) {
      if (gap >= 0) return undefined;
      gap = groups.length;
      i++;
    } else if (i === n) {
      return undefined;
    }
  }
  groups.push(...tail);
  if (gap >= 0) {
    if (groups.length > 7) return undefined;
    groups.splice(gap, 0, ...new Array<number>(8 - groups.length).fill(0));
  } else if (groups.length !== 8) {
    return undefined;
  }
  let hex = "";
  for (const g of groups) hex += g.toString(16).padStart(4, "0");
  return hex;
}

const V4_MAPPED_HEX = "00000000000000000000ffff";

function parseIpv6(text: string): bigint | undefined {
  const hex = parseIpv6Hex(text);
  return hex === undefined ? undefined : BigInt("0x" + hex);
}

/** An address as the matcher wants it: IPv4 as a number, IPv6 as 32 hex digits (no bigint on the hot path). */
function addressKey(text: string): { v4: number } | { v6: string } | undefined {
  let t = text.trim();
  if (!t.includes(":")) {
    const v4 = parseIpv4(t);
    return v4 === undefined ? undefined : { v4 };
  }
  if (t.startsWith("[") && t.endsWith("]")) t = t.slice(1, -1);
  const zone = t.indexOf("%");
  if (zone >= 0) t = t.slice(0, zone);
  const hex = parseIpv6Hex(t);
  if (hex === undefined) return undefined;
  return hex.startsWith(V4_MAPPED_HEX) ? { v4: parseInt(hex.slice(24), 16) } : { v6: hex };
}

/**
 * Parses an IPv4 or IPv6 address; accepts `[v6]` brackets and a `%zone`, and turns
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack socket reports) into IPv4.
 */
export function parseAddress(text: string): IpAddress | undefined {
  let t = text.trim();
  if (t.startsWith("[") && t.endsWith("]")) t = t.slice(1, -1);
  if (!t.includes(":")) {
    const v4 = parseIpv4(t);
    return v4 === undefined ? undefined : { family: 4, value: v4 };
  }
  const zone = t.indexOf("%");
  if (zone >= 0) t = t.slice(0, zone);
  const v6 = parseIpv6(t);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: Number(v6 & 0xffffffffn) };
  return { family: 6, value: v6 };
}

function v4Mask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

function v6Mask(prefixLength: number): bigint {
  return ALL_ONES_128 ^ ((1n << BigInt(128 - prefixLength)) - 1n);
}

/** Parses `a.b.c.d/n`, `v6/n` or a single address (a /32 or /128). */
export function parseCidr(text: string): Result<Cidr, string> {
  const trimmed = text.trim();
  const slash = trimmed.indexOf("/");
  const addrText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const lenText = slash < 0 ? undefined : trimmed.slice(slash + 1);
  if (lenText !== undefined && !/^[0-9]{1,3}$/.test(lenText)) return err(`${text}: bad prefix length`);
  const isV6Text = addrText.includes(":");
  const addr = parseAddress(addrText);
  if (addr === undefined) return err(`${text}: not an IP address`);
  let prefixLength = lenText === undefined ? (isV6Text ? 128 : 32) : Number(lenText);
  if (prefixLength > (isV6Text ? 128 : 32)) return err(`${text}: prefix length out of range`);
  if (addr.family === 4) {
    // ::ffff:10.0.0.0/104 is 10.0.0.0/8 in IPv4 terms.
    if (isV6Text) {
      if (prefixLength < 96) return err(`${text}: IPv4-mapped prefix shorter than /96`);
      prefixLength -= 96;
    }
    return ok({ family: 4, base: (addr.value & v4Mask(prefixLength)) >>> 0, prefixLength, text: trimmed });
  }
  return ok({ family: 6, base: addr.value & v6Mask(prefixLength), prefixLength, text: trimmed });
}

/** True when the address lies inside the block. */
export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  if (cidr.family === 4 && address.family === 4) {
    return ((address.value & v4Mask(cidr.prefixLength)) >>> 0) === cidr.base;
  }
  if (cidr.family === 6 && address.family === 6) {
    return (address.value & v6Mask(cidr.prefixLength)) === cidr.base;
  }
  return false;
}

/** The longest block that holds an address, with every value provisioned on it. */
export interface CidrMatch<T> {
  readonly cidr: string;
  readonly values: readonly T[];
}

/** Longest-prefix lookup over many CIDRs, built once and used per request. */
export interface CidrMatcher<T> {
  /** The most specific block holding `address` (text or parsed), or undefined. */
  match(address: string | IpAddress): CidrMatch<T> | undefined;
  readonly size: number;
}

interface Entry<T> {
  readonly cidr: string;
  readonly values: T[];
}

interface Bucket<K, T> {
  readonly prefixLength: number;
  readonly entries: Map<K, Entry<T>>;
}

function bucketFor<K, T>(buckets: Map<number, Bucket<K, T>>, len: number): Bucket<K, T> {
  let bucket = buckets.get(len);
  if (bucket === undefined) {
    bucket = { prefixLength: len, entries: new Map() };
    buckets.set(len, bucket);
  }
  return bucket;
}

function addTo<K, T>(bucket: Bucket<K, T>, key: K, text: string, value: T): void {
  const entry = bucket.entries.get(key);
  if (entry === undefined) bucket.entries.set(key, { cidr: text, values: [value] });
  else entry.values.push(value);
}

function hex32(value: bigint): string {
  return value.toString(16).padStart(32, "0");
}

/**
 * The first `len` bits of an address as hex text. IPv6 blocks are keyed by string rather than
 * bigint: V8 hashes bigint Map keys so poorly that a lookup among 1000 blocks took 20 µs.
 */
function v6PrefixKey(hex: string, len: number): string {
  const full = len >> 2;
  const rem = len & 3;
  if (rem === 0) return hex.slice(0, full);
  const nibble = parseInt(hex.charAt(full), 16) & ((0xf << (4 - rem)) & 0xf);
  return hex.slice(0, full) + nibble.toString(16);
}

/**
 * Builds a matcher from (cidr, value) pairs. Blocks are grouped by prefix length and keyed by
 * their masked base, so a lookup is one map probe per distinct length, longest first, instead
 * of a scan of every block. Several values on the same block are kept together (two PBXs behind
 * one NAT), for the caller to tell apart.
 */
export function createCidrMatcher<T>(entries: Iterable<readonly [string, T]>): Result<CidrMatcher<T>, string[]> {
  const v4 = new Map<number, Bucket<number, T>>();
  const v6 = new Map<number, Bucket<string, T>>();
  const errors: string[] = [];
  let size = 0;
  for (const [text, value] of entries) {
    const parsed = parseCidr(text);
    if (!parsed.ok) {
      errors.push(parsed.error);
      continue;
    }
    const c = parsed.value;
    if (c.family === 4) addTo(bucketFor(v4, c.prefixLength), c.base, c.text, value);
    else addTo(bucketFor(v6, c.prefixLength), v6PrefixKey(hex32(c.base), c.prefixLength), c.text, value);
    size++;
  }
  if (errors.length > 0) return err(errors);
  const v4Buckets = [...v4.values()].sort((a, b) => b.prefixLength - a.prefixLength).map((b) => ({ ...b, mask: v4Mask(b.prefixLength) }));
  const v6Buckets = [...v6.values()].sort((a, b) => b.prefixLength - a.prefixLength);
  return ok({
    size,
    match(address: string | IpAddress): CidrMatch<T> | undefined {
      const key =
        typeof address === "string" ? addressKey(address) : address.family === 4 ? { v4: address.value } : { v6: hex32(address.value) };
      if (key === undefined) return undefined;
      if ("v4" in key) {
        for (const b of v4Buckets) {
          const hit = b.entries.get((key.v4 & b.mask) >>> 0);
          if (hit !== undefined) return hit;
        }
        return undefined;
      }
      const hex = key.v6;
      for (const b of v6Buckets) {
        const hit = b.entries.get(v6PrefixKey(hex, b.prefixLength));
        if (hit !== undefined) return hit;
      }
      return undefined;
    },
  });
}

/** Formats an address in its usual text form (dotted quad, or full lowercase hextets for IPv6). */
export function formatAddress(address: IpAddress): string {
  if (address.family === 4) {
    const v = address.value;
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((address.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(":");
}
