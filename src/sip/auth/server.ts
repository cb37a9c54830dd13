/**
 * Server side of SIP digest authentication (RFC 3261 22.4, RFC 8760): build challenges for a
 * 401/407 and verify the Authorization / Proxy-Authorization that answers them.
 * Pure functions: time, secret and the credential store are passed in.
 */
import { randomBytes } from "node:crypto";
import { DIGEST_ALGORITHMS, type DigestAlgorithm, computeHa1, computeResponse, constantTimeEqual, toDigestAlgorithm } from "./digest.ts";
import { type DigestCredentials, parseCredentials, serializeChallenge } from "./header.ts";
import { checkNonce, createNonce } from "./nonce.ts";
import type { NonceCountTracker } from "./nonce-count-tracker.ts";

/** Default nonce lifetime: long enough for a REGISTER refresh round trip, short enough to bound replay. */
export const DEFAULT_NONCE_TTL_MS = 5 * 60 * 1000;

// A nonce from a node whose clock runs ahead is still ours; beyond this it is treated as forged.
const MAX_CLOCK_SKEW_MS = 30 * 1000;

/** Options for createChallenge. */
export interface ChallengeOptions {
  realm: string;
  /** Server secret shared by every node that must verify the nonces. */
  secret: Buffer | string;
  /** Epoch milliseconds. */
  now: number;
  /** Algorithms to offer, one header each, in this order; default SHA-256 then MD5 (RFC 8760 2.3). */
  algorithms?: DigestAlgorithm[];
  /** Set when re-challenging after a `stale` verification result (RFC 7616 3.3). */
  stale?: boolean;
  opaque?: string;
}

/** Builds the WWW-Authenticate / Proxy-Authenticate values: one per algorithm, each with qop="auth". */
export function createChallenge(options: ChallengeOptions): string[] {
  const algorithms = options.algorithms ?? [...DIGEST_ALGORITHMS];
  return algorithms.map((algorithm) => {
    const c: Parameters<typeof serializeChallenge>[0] = {
      realm: options.realm,
      nonce: createNonce(options.secret, options.realm, options.now),
      stale: options.stale === true,
      algorithm,
      qop: ["auth"],
    };
    if (options.opaque !== undefined) c.opaque = options.opaque;
    return serializeChallenge(c);
  });
}

/** Why credentials were refused; the caller maps these to 401/407 (re-challenging, with stale=true for `stale`) or 400/403. */
export type VerifyFailureReason =
  | "malformed"
  | "unknown-scheme"
  | "wrong-realm"
  | "bad-nonce"
  | "stale"
  | "unknown-user"
  | "bad-response"
  | "replay"
  | "uri-mismatch";

/** Outcome of verifyCredentials; `username` on a failure is what the client claimed, for logs and ban counters. */
export type VerifyResult =
  | { readonly ok: true; readonly username: string; readonly algorithm: DigestAlgorithm }
  | { readonly ok: false; readonly reason: VerifyFailureReason; readonly username?: string };

/** Finds the stored HA1 for a user; called with the algorithm the client used, since HA1 differs per algorithm. */
export type Ha1Lookup = (username: string, algorithm: DigestAlgorithm) => { ha1: string } | undefined;

/** Options for verifyCredentials. */
export interface VerifyOptions {
  /** One Authorization / Proxy-Authorization value, or that value already parsed (parseCredentials) by a caller that read it first. */
  header: string | DigestCredentials;
  /** The request method, as in the request line. */
  method: string;
  realm: string;
  secret: Buffer | string;
  /** Epoch milliseconds. */
  now: number;
  nonceTtlMs?: number;
  lookup: Ha1Lookup;
  /**
   * Replay protection. With qop, nc must rise per nonce. Without qop (RFC 2069 clients) there is
   * no counter, so such a nonce is accepted once: the client is re-challenged for the next request.
   */
  nonceCounts?: NonceCountTracker;
  /** The Request-URI as sent on the wire; when given, the `uri` parameter must be identical (RFC 7616 3.4.6). */
  requestUri?: string;
}

// Hashed instead of the real HA1 for unknown users so both paths do the same work.
const DUMMY_PASSWORD = randomBytes(16).toString("hex");

function fail(reason: VerifyFailureReason, username?: string): VerifyResult {
  return username === undefined ? { ok: false, reason } : { ok: false, reason, username };
}

/** Verifies one Digest credentials value against a nonce of ours and the stored HA1. */
export function verifyCredentials(options: VerifyOptions): VerifyResult {
  let c: DigestCredentials;
  if (typeof options.header === "string") {
    const parsed = parseCredentials(options.header);
    if (!parsed.ok) return fail(parsed.error.code === "unknown-scheme" ? "unknown-scheme" : "malformed");
    c = parsed.value;
  } else {
    c = options.header;
  }
  const algorithm = toDigestAlgorithm(c.algorithm);
  // We offer only qop=auth; auth-int or anything else answers a challenge we never sent.
  if (algorithm === undefined || (c.qop !== undefined && c.qop !== "auth")) return fail("malformed", c.username);
  if (c.realm !== options.realm) return fail("wrong-realm", c.username);

  const nonce = checkNonce(options.secret, options.realm, c.nonce);
  if (!nonce.valid || nonce.issuedAt > options.now + MAX_CLOCK_SKEW_MS) return fail("bad-nonce", c.username);
  if (options.requestUri !== undefined && c.uri !== options.requestUri) return fail("uri-mismatch", c.username);

  const stored = options.lookup(c.username, algorithm);
  // Computed whether or not the user exists, so the two paths run the same hashes.
  const dummyHa1 = computeHa1(c.username, options.realm, DUMMY_PASSWORD, algorithm);
  const ha1 = stored === undefined ? dummyHa1 : stored.ha1;
  const expected = computeResponse({
    algorithm,
    ha1,
    nonce: c.nonce,
    method: options.method,
    uri: c.uri,
    ...(c.qop !== undefined ? { qop: c.qop } : {}),
    ...(c.nc !== undefined ? { nc: c.nc } : {}),
    ...(c.cnonce !== undefined ? { cnonce: c.cnonce } : {}),
  });
  const matches = constantTimeEqual(expected, c.response.toLowerCase());
  if (stored === undefined) return fail("unknown-user", c.username);
  if (!matches) return fail("bad-response", c.username);

  // Stale only once the response proved right (RFC 7616 3.3: stale means the digest was valid but the nonce was not).
  const ttl = options.nonceTtlMs ?? DEFAULT_NONCE_TTL_MS;
  if (options.now - nonce.issuedAt > ttl) return fail("stale", c.username);

  if (options.nonceCounts !== undefined) {
    // Without qop, nc is not covered by the response hash, so a client-chosen nc there means nothing.
    const nc = c.qop === undefined || c.nc === undefined ? 0 : Number.parseInt(c.nc, 16);
    if (!options.nonceCounts.accept(c.nonce, nc, nonce.issuedAt)) return fail("replay", c.username);
  }
  return { ok: true, username: c.username, algorithm };
}

/** Picks, among several Authorization values (one per realm, RFC 3261 22.3), the one for `realm`. */
export function selectCredentials(values: readonly string[], realm: string): string | undefined {
  for (const v of values) {
    const parsed = parseCredentials(v);
    if (parsed.ok && parsed.value.realm === realm) return v;
  }
  return undefined;
}
