import { randomBytes } from "node:crypto";

// Random bytes are drawn in blocks: one crypto call per 4 KiB instead of one per id keeps
// branch/tag generation off the profile at thousands of calls per second.
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let offset = 0;

function take(n: number): Buffer {
  if (offset + n > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}

/** A random token of `bytes` random bytes in URL-safe base64 (a valid SIP token). */
export function randomToken(bytes = 12): string {
  return take(bytes).toString("base64url");
}

/** An RFC 3261 branch: the magic cookie `z9hG4bK` then a random token. */
export function newBranch(): string {
  return "z9hG4bK" + randomToken(12);
}

/** A From/To tag (RFC 3261 19.3: at least 32 bits of randomness). */
export function newTag(): string {
  return randomToken(8);
}

/** A Call-ID (RFC 3261 8.1.1.4), globally unique without revealing the host. */
export function newCallId(): string {
  return randomToken(18);
}
