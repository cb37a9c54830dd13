/*
 * HMAC-SHA1 (RFC 2104, FIPS 180-4) with the key's inner and outer states computed once.
 * node:crypto costs a fresh Hmac object per SRTP packet, several microseconds before any byte
 * is hashed; here a 172-octet RTP packet is four compressions on preallocated scratch, and the
 * 4-octet ROC or SRTCP word is hashed as a trailer without copying the packet.
 */

const BLOCK = 64;
const DIGEST = 20;
const IPAD = 0x36;
const OPAD = 0x5c;
const INIT = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0] as const;

/** A keyed HMAC-SHA1; one instance per key, not shared across concurrent callers. */
export class HmacSha1 {
  readonly #inner = new Int32Array(5);
  readonly #outer = new Int32Array(5);
  readonly #h = new Int32Array(5);
  readonly #w = new Int32Array(80);
  readonly #tail = new Uint8Array(BLOCK * 2);
  readonly #digest = new Uint8Array(DIGEST);

  constructor(key: Uint8Array) {
    // Keys longer than a block are hashed first (RFC 2104 2); SRTP keys are 20 octets.
    const k = new Uint8Array(BLOCK);
    if (key.length > BLOCK) {
      this.#h.set(INIT);
      this.#finish(key, undefined, 0);
      k.set(this.#digestBytes());
    } else {
      k.set(key);
    }
    const pad = new Uint8Array(BLOCK);
    for (let i = 0; i < BLOCK; i++) pad[i] = k[i]! ^ IPAD;
    this.#h.set(INIT);
    this.#compress(pad, 0);
    this.#inner.set(this.#h);
    for (let i = 0; i < BLOCK; i++) pad[i] = k[i]! ^ OPAD;
    this.#h.set(INIT);
    this.#compress(pad, 0);
    this.#outer.set(this.#h);
  }

  /**
   * MAC of `data` followed by the 32-bit big-endian `trailer` when given; writes the first
   * `tagLength` octets to `out` at `offset`.
   */
  mac(data: Uint8Array, trailer: number | undefined, out: Uint8Array, offset: number, tagLength: number): void {
    this.#h.set(this.#inner);
    this.#finish(data, trailer, BLOCK);
    const innerDigest = this.#digestBytes();
    this.#h.set(this.#outer);
    this.#finish(innerDigest, undefined, BLOCK);
    const d = this.#digestBytes();
    for (let i = 0; i < tagLength; i++) out[offset + i] = d[i]!;
  }

  /** Compares the MAC of `data` (+ trailer) with `tag` in time independent of where they differ. */
  verify(data: Uint8Array, trailer: number | undefined, tag: Uint8Array): boolean {
    this.mac(data, trailer, this.#tail, 0, DIGEST);
    let diff = tag.length === 0 || tag.length > DIGEST ? 1 : 0;
    const n = Math.min(tag.length, DIGEST);
    for (let i = 0; i < n; i++) diff |= tag[i]! ^ this.#tail[i]!;
    return diff === 0;
  }

  #digestBytes(): Uint8Array {
    const d = this.#digest;
    for (let i = 0; i < 5; i++) {
      const v = this.#h[i]!;
      d[i * 4] = v >>> 24;
      d[i * 4 + 1] = (v >>> 16) & 0xff;
      d[i * 4 + 2] = (v >>> 8) & 0xff;
      d[i * 4 + 3] = v & 0xff;
    }
    return d;
  }

  /** Hashes data || trailer || padding into #h, `prefix` octets having been hashed already. */
  #finish(data: Uint8Array, trailer: number | undefined, prefix: number): void {
    const full = data.length - (data.length % BLOCK);
    for (let o = 0; o < full; o += BLOCK) this.#compress(data, o);
    const tail = this.#tail;
    let n = data.length - full;
    for (let i = 0; i < n; i++) tail[i] = data[full + i]!;
    if (trailer !== undefined) {
      tail[n] = trailer >>> 24;
      tail[n + 1] = (trailer >>> 16) & 0xff;
      tail[n + 2] = (trailer >>> 8) & 0xff;
      tail[n + 3] = trailer & 0xff;
      n += 4;
    }
    const total = prefix + data.length + (trailer === undefined ? 0 : 4);
    tail[n++] = 0x80;
    const end = n + 8 <= BLOCK ? BLOCK : BLOCK * 2;
    tail.fill(0, n, end - 4);
    // Message length in bits as a 64-bit integer; the high word stays 0 below 512 MB.
    const bits = total * 8;
    tail[end - 8] = 0;
    tail[end - 7] = 0;
    tail[end - 6] = 0;
    tail[end - 5] = 0;
    tail[end - 4] = bits >>> 24;
    tail[end - 3] = (bits >>> 16) & 0xff;
    tail[end - 2] = (bits >>> 8) & 0xff;
    tail[end - 1] = bits & 0xff;
    this.#compress(tail, 0);
    if (end > BLOCK) this.#compress(tail, BLOCK);
  }

  #compress(b: Uint8Array, o: number): void {
    const w = this.#w;
    for (let t = 0; t < 16; t++) {
      const i = o + t * 4;
      w[t] = (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
    }
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
      w[t] = (x << 1) | (x >>> 31);
    }
    const h = this.#h;
    let a = h[0]!;
    let bb = h[1]!;
    let c = h[2]!;
    let d = h[3]!;
    let e = h[4]!;
    // Four rounds of 20 steps, unrolled by round so each loop has one f and one k.
    for (let t = 0; t < 20; t++) {
      const temp = (((a << 5) | (a >>> 27)) + ((bb & c) | (~bb & d)) + e + 0x5a827999 + w[t]!) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = temp;
    }
    for (let t = 20; t < 40; t++) {
      const temp = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0x6ed9eba1 + w[t]!) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = temp;
    }
    for (let t = 40; t < 60; t++) {
      const temp = (((a << 5) | (a >>> 27)) + ((bb & c) | (bb & d) | (c & d)) + e + 0x8f1bbcdc + w[t]!) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = temp;
    }
    for (let t = 60; t < 80; t++) {
      const temp = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0xca62c1d6 + w[t]!) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = temp;
    }
    h[0] = (h[0]! + a) | 0;
    h[1] = (h[1]! + bb) | 0;
    h[2] = (h[2]! + c) | 0;
    h[3] = (h[3]! + d) | 0;
    h[4] = (h[4]! + e) | 0;
  }
}
