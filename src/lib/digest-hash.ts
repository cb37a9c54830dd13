// The hashes of HTTP digest (RFC 7616 3.4), kept here because two layers need the same HA1:
// domain/ stores customers' secrets as HA1 and sip/auth verifies and answers with it. A stored
// hash is only useful if both compute it byte for byte alike.
import { createHash } from "node:crypto";

/** The digest algorithms Trunkline speaks, strongest first (RFC 8760). */
export type DigestAlgorithm = "SHA-256" | "MD5";

const NODE_HASH: Record<DigestAlgorithm, string> = { "SHA-256": "sha256", MD5: "md5" };

/** H(data) as lower-case hex. */
export function digestHex(algorithm: DigestAlgorithm, data: string | Buffer): string {
  return createHash(NODE_HASH[algorithm]).update(data).digest("hex");
}

/** HA1 = H(username ":" realm ":" password) as lower-case hex (RFC 7616 3.4.2, RFC 2617 3.2.2.2): the stored form of a credential. */
export function computeHa1(username: string, realm: string, password: string, algorithm: DigestAlgorithm): string {
  return digestHex(algorithm, `${username}:${realm}:${password}`);
}
