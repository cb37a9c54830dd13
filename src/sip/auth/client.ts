/**
 * Client side of SIP digest authentication: answer a carrier's 401/407 (RFC 3261 22.2-22.3,
 * RFC 8760 2.4).
 */
import { randomBytes } from "node:crypto";
import { type DigestAlgorithm, DIGEST_ALGORITHMS, computeHa1, computeResponse, toDigestAlgorithm } from "./digest.ts";
import { parseChallenge, serializeCredentials } from "./header.ts";

/** Stable codes for challenges we cannot answer; callers branch on `code`, never on the message. */
export type DigestClientErrorCode = "ERR_AUTH_MALFORMED_CHALLENGE" | "ERR_AUTH_UNKNOWN_SCHEME" | "ERR_AUTH_UNSUPPORTED_ALGORITHM" | "ERR_AUTH_UNSUPPORTED_QOP";

/** A challenge that cannot be answered; the message names the problem, never a credential. */
export class DigestClientError extends Error {
  readonly code: DigestClientErrorCode;
  constructor(code: DigestClientErrorCode, message: string) {
    super(message);
    this.name = "DigestClientError";
    this.code = code;
  }
}

/** Options for answerChallenge. */
export interface AnswerOptions {
  /** One WWW-Authenticate / Proxy-Authenticate value. */
  challenge: string;
  method: string;
  /** The Request-URI of the request being authorized. */
  uri: string;
  username: string;
  password: string;
  /** Client nonce; random when absent. */
  cnonce?: string;
  /** Nonce count, 1 for the first request with this nonce; default 1. */
  nc?: number;
  /** Message body, hashed only for qop=auth-int. */
  body?: Buffer;
}

/** Builds the Authorization / Proxy-Authorization value answering one Digest challenge. */
export function answerChallenge(options: AnswerOptions): string {
  const parsed = parseChallenge(options.challenge);
  if (!parsed.ok) {
    if (parsed.error.code === "unknown-scheme") {
      throw new DigestClientError("ERR_AUTH_UNKNOWN_SCHEME", `unsupported auth scheme ${parsed.error.scheme}`);
    }
    throw new DigestClientError("ERR_AUTH_MALFORMED_CHALLENGE", `malformed challenge: ${parsed.error.detail}`);
  }
  const ch = parsed.value;
  const algorithm = toDigestAlgorithm(ch.algorithm);
  if (algorithm === undefined) {
    throw new DigestClientError("ERR_AUTH_UNSUPPORTED_ALGORITHM", `unsupported digest algorithm ${ch.algorithm ?? ""}`);
  }
  // Prefer auth: it does not depend on the body, which a B2BUA may still rewrite.
  let qop: "auth" | "auth-int" | undefined;
  if (ch.qop.includes("auth")) qop = "auth";
  else if (ch.qop.includes("auth-int")) qop = "auth-int";
  else if (ch.qop.length > 0) {
    throw new DigestClientError("ERR_AUTH_UNSUPPORTED_QOP", `unsupported qop ${ch.qop.join(",")}`);
  }

  const ha1 = computeHa1(options.username, ch.realm, options.password, algorithm);
  const creds: Parameters<typeof serializeCredentials>[0] = {
    username: options.username,
    realm: ch.realm,
    nonce: ch.nonce,
    uri: options.uri,
    response: "",
  };
  // Echo the algorithm only when the server named it: some old servers reject an algorithm they did not send.
  if (ch.algorithm !== undefined) creds.algorithm = ch.algorithm;
  if (qop !== undefined) {
    const nc = options.nc ?? 1;
    if (!Number.isInteger(nc) || nc < 1 || nc > 0xffffffff) throw new RangeError("nc must be an integer from 1 to 2^32-1");
    creds.nc = nc.toString(16).padStart(8, "0");
    creds.cnonce = options.cnonce ?? randomBytes(12).toString("base64url");
    creds.qop = qop;
  }
  creds.response = computeResponse({
    algorithm,
    ha1,
    nonce: ch.nonce,
    method: options.method,
    uri: options.uri,
    ...(qop !== undefined ? { qop, nc: creds.nc as string, cnonce: creds.cnonce as string } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  if (ch.opaque !== undefined) creds.opaque = ch.opaque;
  return serializeCredentials(creds);
}

function strength(algorithm: DigestAlgorithm): number {
  return DIGEST_ALGORITHMS.length - DIGEST_ALGORITHMS.indexOf(algorithm);
}

/**
 * Picks, among WWW-Authenticate / Proxy-Authenticate values, the Digest challenge with the
 * strongest algorithm we support; on a tie the first wins (the server lists its preference first,
 * RFC 8760 2.3). Returns the chosen value, or undefined when none can be answered.
 */
export function pickChallenge(values: readonly string[]): string | undefined {
  let best: { value: string; rank: number } | undefined;
  for (const value of values) {
    const parsed = parseChallenge(value);
    if (!parsed.ok) continue;
    const algorithm = toDigestAlgorithm(parsed.value.algorithm);
    if (algorithm === undefined) continue;
    const q = parsed.value.qop;
    if (q.length > 0 && !q.includes("auth") && !q.includes("auth-int")) continue;
    const rank = strength(algorithm);
    if (best === undefined || rank > best.rank) best = { value, rank };
  }
  return best?.value;
}
