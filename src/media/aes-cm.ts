import { type Cipher, createCipheriv } from "node:crypto";

/*
 * AES in counter mode as SRTP uses it (RFC 3711 4.1.1): keystream block j is AES(IV + j).
 * One ECB cipher per key encrypts a batch of counter blocks per packet; creating a CTR cipher
 * per packet instead costs several times more in node:crypto.
 */

const BLOCK = 16;

/** AES-128 counter-mode keystream for one session key. */
export class AesCm {
  readonly #ecb: Cipher;
  #counters = new Uint8Array(BLOCK * 96);

  constructor(key: Uint8Array) {
    this.#ecb = createCipheriv("aes-128-ecb", key, null);
    // Whole blocks only, so ECB keeps no state between packets.
    this.#ecb.setAutoPadding(false);
  }

  /** XORs the keystream for `iv` into `input`, writing to `out` at `offset` (same place for in-place work). */
  xor(iv: Uint8Array, input: Uint8Array, out: Uint8Array, offset: number): void {
    const n = input.length;
    if (n === 0) return;
    const blocks = Math.ceil(n / BLOCK);
    if (this.#counters.length < blocks * BLOCK) this.#counters = new Uint8Array(blocks * BLOCK * 2);
    const ctr = this.#counters;
    ctr.set(iv.subarray(0, BLOCK));
    for (let b = 1; b < blocks; b++) {
      const at = b * BLOCK;
      ctr.copyWithin(at, at - BLOCK, at);
      // 128-bit increment; the carry rarely passes the low octet.
      for (let i = at + BLOCK - 1; i >= at; i--) {
        const v = (ctr[i]! + 1) & 0xff;
        ctr[i] = v;
        if (v !== 0) break;
      }
    }
    const ks = this.#ecb.update(ctr.subarray(0, blocks * BLOCK));
    for (let i = 0; i < n; i++) out[offset + i] = input[i]! ^ ks[i]!;
  }
}
