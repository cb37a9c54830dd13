/** SIP digest authentication (RFC 3261 22, RFC 7616, RFC 8760): header codec, server and client sides, as pure functions. */
export {
  type AuthHeaderError,
  type AuthParams,
  type DigestChallenge,
  type DigestCredentials,
  parseAuthParams,
  parseChallenge,
  parseCredentials,
  serializeChallenge,
  serializeCredentials,
} from "./header.ts";
export { type DigestAlgorithm, DIGEST_ALGORITHMS, computeHa1, computeResponse, type ResponseInputs } from "./digest.ts";
export { NonceCountTracker, type NonceCountTrackerOptions } from "./nonce-count-tracker.ts";
export {
  DEFAULT_NONCE_TTL_MS,
  type ChallengeOptions,
  type Ha1Lookup,
  type VerifyFailureReason,
  type VerifyOptions,
  type VerifyResult,
  createChallenge,
  selectCredentials,
  verifyCredentials,
} from "./server.ts";
export { type AnswerOptions, DigestClientError, type DigestClientErrorCode, answerChallenge, pickChallenge } from "./client.ts";
