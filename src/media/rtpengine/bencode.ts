/**
 * Bencode, the serialization of rtpengine's ng control protocol (BEP 3):
 *
 *   integer   i<decimal>e          i42e, i-3e (no leading zeros, no -0)
 *   string    <length>:<bytes>     4:spam (length in octets)
 *   list      l<values>e           l4:spami42ee
 *   dict      d<key><value>...e    d3:cow3:mooe (keys are strings, sorted by their octets)
 *
 * Strings decode as UTF-8 text (every string the ng protocol carries, SDP included, is text).
 * Decoding never throws: bad input is a typed error with the offset where it went wrong.
 */
import { type Result, err, ok } from "../../lib/index.ts";

/** A value that bencode can carry. Booleans are not bencode: callers encode flags as strings. */
export type BencodeValue = number | string | Buffer | readonly BencodeValue[] | BencodeDict;
/** A bencode dictionary; keys with an undefined value are left out when encoding. */
export interface BencodeDict {
  readonly [key: string]: BencodeValue | undefined;
}

/** Why a buffer is not bencode. */
export interface BencodeDecodeError {
  readonly code: "BENCODE_TRUNCATED" | "BENCODE_BAD_INTEGER" | "BENCODE_BAD_STRING" | "BENCODE_BAD_TYPE" | "BENCODE_BAD_KEY" | "BENCODE_TOO_DEEP" | "BENCODE_TRAILING_DATA";
  readonly offset: number;
}

/** Nesting deeper than this is refused so a hostile reply cannot exhaust the stack. */
const MAX_DEPTH = 64;

const I = 0x69; // 'i'
const L = 0x6c; // 'l'
const D = 0x64; // 'd'
const E = 0x65; // 'e'
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

function encodeInto(value: BencodeValue, out: Buffer[]): void {
  if (typeof value === "number") {
    // Bencode has integers only; a fraction here is a caller bug, not data to round silently.
    if (!Number.isSafeInteger(value)) throw new RangeError(`bencode: not an integer: ${value}`);
    out.push(Buffer.from(`i${value}e`, "latin1"));
  } else if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    out.push(Buffer.from(`${bytes.length}:`, "latin1"), bytes);
  } else if (Buffer.isBuffer(value)) {
    out.push(Buffer.from(`${value.length}:`, "latin1"), value);
  } else if (Array.isArray(value)) {
    out.push(Buffer.from("l", "latin1"));
    for (const item of value as readonly BencodeValue[]) encodeInto(item, out);
    out.push(Buffer.from("e", "latin1"));
  } else {
    const dict = value as BencodeDict;
    // BEP 3: keys "appear in sorted order (sorted as raw strings, not alphanumerics)".
    const keys = Object.keys(dict)
      .filter((k) => dict[k] !== undefined)
      .map((k) => ({ k, raw: Buffer.from(k, "utf8") }))
      .sort((x, y) => Buffer.compare(x.raw, y.raw));
    out.push(Buffer.from("d", "latin1"));
    for (const { k, raw } of keys) {
      out.push(Buffer.from(`${raw.length}:`, "latin1"), raw);
      encodeInto(dict[k] as BencodeValue, out);
    }
    out.push(Buffer.from("e", "latin1"));
  }
}

/** Encodes a value; throws RangeError for a non-integer number (a bug in the caller). */
export function encodeBencode(value: BencodeValue): Buffer {
  const out: Buffer[] = [];
  encodeInto(value, out);
  return Buffer.concat(out);
}

class Decoder {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
  ) {
    this.pos = start;
  }

  fail(code: BencodeDecodeError["code"], offset = this.pos): { ok: false; error: BencodeDecodeError } {
    return err({ code, offset });
  }

  /** Digits of an integer or string length up to `stop`; returns the text or an error. */
  digits(stop: number, allowSign: boolean): Result<string, BencodeDecodeError> {
    const start = this.pos;
    const end = this.buf.indexOf(stop, start);
    if (end < 0) return this.fail("BENCODE_TRUNCATED", this.buf.length);
    const text = this.buf.toString("latin1", start, end);
    const code = stop === E ? "BENCODE_BAD_INTEGER" : "BENCODE_BAD_STRING";
    const body = allowSign && text.startsWith("-") ? text.slice(1) : text;
    if (body.length === 0 || !/^[0-9]+$/.test(body)) return this.fail(code, start);
    // Canonical form only: no leading zeros, no negative zero.
    if ((body.length > 1 && body.charCodeAt(0) === ZERO) || text === "-0") return this.fail(code, start);
    this.pos = end + 1;
    return ok(text);
  }

  string(): Result<Buffer, BencodeDecodeError> {
    const start = this.pos;
    const len = this.digits(COLON, false);
    if (!len.ok) return len;
    const n = Number(len.value);
    if (!Number.isSafeInteger(n)) return this.fail("BENCODE_BAD_STRING", start);
    if (this.pos + n > this.buf.length) return this.fail("BENCODE_TRUNCATED", this.buf.length);
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return ok(bytes);
  }

  value(depth: number): Result<BencodeValue, BencodeDecodeError> {
    if (depth > MAX_DEPTH) return this.fail("BENCODE_TOO_DEEP");
    if (this.pos >= this.buf.length) return this.fail("BENCODE_TRUNCATED");
    const c = this.buf[this.pos]!;
    if (c === I) {
      this.pos++;
      const start = this.pos;
      const text = this.digits(E, true);
      if (!text.ok) return text;
      const n = Number(text.value);
      if (!Number.isSafeInteger(n)) return this.fail("BENCODE_BAD_INTEGER", start);
      return ok(n);
    }
    if (c >= ZERO && c <= NINE) {
      const s = this.string();
      return s.ok ? ok(s.value.toString("utf8")) : s;
    }
    if (c === L) {
      this.pos++;
      const items: BencodeValue[] = [];
      for (;;) {
        if (this.pos >= this.buf.length) return this.fail("BENCODE_TRUNCATED");
        if (this.buf[this.pos] === E) {
          this.pos++;
          return ok(items);
        }
        const item = this.value(depth + 1);
        if (!item.ok) return item;
        items.push(item.value);
      }
    }
    if (c === D) {
      this.pos++;
      // A null prototype so a key named __proto__ is just a key.
      const dict = Object.create(null) as Record<string, BencodeValue>;
      for (;;) {
        if (this.pos >= this.buf.length) return this.fail("BENCODE_TRUNCATED");
        if (this.buf[this.pos] === E) {
          this.pos++;
          return ok(dict);
        }
        const k = this.buf[this.pos]!;
        if (k < ZERO || k > NINE) return this.fail("BENCODE_BAD_KEY");
        const key = this.string();
        if (!key.ok) return key;
        const item = this.value(depth + 1);
        if (!item.ok) return item;
        // Peers are not all strict about key order; the last of a repeated key wins.
        dict[key.value.toString("utf8")] = item.value;
      }
    }
    return this.fail(c === MINUS ? "BENCODE_BAD_STRING" : "BENCODE_BAD_TYPE");
  }
}

/** Decodes exactly one value filling buf from `start` to the end. */
export function decodeBencode(buf: Buffer, start = 0): Result<BencodeValue, BencodeDecodeError> {
  const d = new Decoder(buf, start);
  const v = d.value(0);
  if (!v.ok) return v;
  if (d.pos !== buf.length) return err({ code: "BENCODE_TRAILING_DATA", offset: d.pos });
  return v;
}

/** True when value is a bencode dictionary (not a list, string or buffer). */
export function isBencodeDict(value: BencodeValue | undefined): value is BencodeDict {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}
