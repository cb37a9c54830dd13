/**
 * The digest computations of RFC 7616 section 3.4.1-3.4.3 (as used by SIP, RFC 3261 22.4 and RFC 8760):
 *
 *   HA1 = H(username ":" realm ":" password)
 *   HA2 = H(method ":" uri)                      qop=auth or absent
 *   HA2 = H(method ":" uri ":" H(body))          qop=auth-int
 *   response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)   with qop
 *   response = H(HA1 ":" nonce ":" HA2)                              RFC 2069, without qop
 *
 * The -sess variants are not supported: SIP deployments practically never use them and they
 * would tie HA1 to a nonce, defeating HA1-only storage.
 */
import { timingSafeEqual } from "node:crypto";
import { type DigestAlgorithm, digestHex } from "../../lib/index.ts";

// HA1 and H() are shared with domain/ (stored credentials), so they live in lib/.
export { type DigestAlgorithm, computeHa1, digestHex } from "../../lib/index.ts";

/** Supported algorithms in order of preference (RFC 8760 section 2.3). */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ["SHA-256", "MD5"];

/** Maps an `algorithm` parameter (case-insensitive, absent meaning MD5) to a supported algorithm, or undefined. */
export function toDigestAlgorithm(value: string | undefined): DigestAlgorithm | undefined {
  if (value === undefined) return "MD5";
  const upper = value.toUpperCase();
  if (upper === "MD5") return "MD5";
  if (upper === "SHA-256") return "SHA-256";
  return undefined;
}

/** Inputs of the request-digest once HA1 is known. */
export interface ResponseInputs {
  algorithm: DigestAlgorithm;
  ha1: string;
  nonce: string;
  method: string;
  uri: string;
  /** "auth", "auth-int", or undefined for RFC 2069 style. */
  qop?: string;
  nc?: string;
  cnonce?: string;
  /** Message body for auth-int; an absent body hashes as empty. */
  body?: Buffer;
}

/** Computes the `response` parameter value (lower-case hex). */
export function computeResponse(i: ResponseInputs): string {
  const a2 =
    i.qop === "auth-int"
      ? `${i.method}:${i.uri}:${digestHex(i.algorithm, i.body ?? Buffer.alloc(0))}`
      : `${i.method}:${i.uri}`;
  const ha2 = digestHex(i.algorithm, a2);
  const ha1 = i.ha1.toLowerCase();
  if (i.qop === undefined) return digestHex(i.algorithm, `${ha1}:${i.nonce}:${ha2}`);
  return digestHex(i.algorithm, `${ha1}:${i.nonce}:${i.nc ?? ""}:${i.cnonce ?? ""}:${i.qop}:${ha2}`);
}

/** Compares two strings in time that depends only on their lengths' maximum, not their content. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, "utf8");
  const bb = Buffer.from(b, "utf8");
  // timingSafeEqual needs equal lengths; compare against a same-length copy so the work is the same either way.
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
