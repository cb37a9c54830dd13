/**
 * Stateless nonces: base64url of
 *
 *   +---------+----------------+-----------+------------------------------+
 *   | version | issued (ms, BE)|  salt     | HMAC-SHA256(secret, ...)[0,16) |
 *   | 1 byte  | 8 bytes        |  8 bytes  | 16 bytes                     |
 *   +---------+----------------+-----------+------------------------------+
 *
 * The MAC covers version, issue time, salt and realm, so any process holding the secret can tell
 * its own nonces (and their age) from forged ones without storing anything (RFC 7616 3.3 suggests
 * exactly this: a time stamp and a private key in the nonce). The salt makes every challenge's
 * nonce unique, which nonce-count tracking relies on.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const VERSION = 1;
const SALT_LEN = 8;
const MAC_LEN = 16;
const RAW_LEN = 1 + 8 + SALT_LEN + MAC_LEN;

function mac(secret: Buffer | string, realm: string, head: Buffer): Buffer {
  return createHmac("sha256", secret).update(head).update(realm, "utf8").digest().subarray(0, MAC_LEN);
}

function checkSecret(secret: Buffer | string): void {
  // A bug in configuration, not a protocol outcome: an empty key would make every nonce forgeable.
  if (secret.length === 0) throw new Error("digest nonce secret must not be empty");
}

/** Mints a nonce for `realm` issued at `now` (epoch ms). */
export function createNonce(secret: Buffer | string, realm: string, now: number): string {
  checkSecret(secret);
  const head = Buffer.alloc(1 + 8 + SALT_LEN);
  head.writeUInt8(VERSION, 0);
  head.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 1);
  randomBytes(SALT_LEN).copy(head, 9);
  return Buffer.concat([head, mac(secret, realm, head)]).toString("base64url");
}

/** What a nonce turned out to be: ours (with its issue time) or not. */
export type NonceCheck = { readonly valid: true; readonly issuedAt: number } | { readonly valid: false };

/** Checks that `nonce` was minted with `secret` for `realm`; says nothing yet about its age. */
export function checkNonce(secret: Buffer | string, realm: string, nonce: string): NonceCheck {
  checkSecret(secret);
  if (nonce.length !== Math.ceil((RAW_LEN * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(nonce)) return { valid: false };
  const raw = Buffer.from(nonce, "base64url");
  // Re-encoding must give back the same text, so no two spellings of one nonce exist (nc tracking is by text).
  if (raw.length !== RAW_LEN || raw.toString("base64url") !== nonce) return { valid: false };
  if (raw.readUInt8(0) !== VERSION) return { valid: false };
  const head = raw.subarray(0, 1 + 8 + SALT_LEN);
  const expected = mac(secret, realm, head);
  if (!timingSafeEqual(expected, raw.subarray(1 + 8 + SALT_LEN))) return { valid: false };
  return { valid: true, issuedAt: Number(raw.readBigUInt64BE(1)) };
}
