// Customers' digest secrets at rest: only HA1 hashes (RFC 7616 3.4.2), never the password.
// A customer's credentials are what we verify a PBX against, in our own realm, so the password
// can be replaced by H(user:realm:password) for each algorithm we challenge with. A carrier's are
// what we answer its challenge with, in a realm we learn only from that challenge: they stay as given.
import { type DigestAlgorithm, computeHa1 } from "../lib/index.ts";
import type { CustomerTrunk, DigestCredentials, Provisioning } from "./types.ts";

/** The digest realm of our challenges when `calls.realm` is not set; customers' HA1 hashes are computed in it. */
export const DEFAULT_REALM = "trunkline";

/**
 * The credentials with the password replaced by its MD5 and SHA-256 HA1 in `realm` (the
 * credentials' own realm when they name one). Hashes given directly are kept, in lowercase.
 */
export function hashCredentials(c: DigestCredentials, realm: string): DigestCredentials {
  const { password, ...rest } = c;
  const lower = {
    ...rest,
    ...(rest.ha1 === undefined ? {} : { ha1: rest.ha1.toLowerCase() }),
    ...(rest.ha1Sha256 === undefined ? {} : { ha1Sha256: rest.ha1Sha256.toLowerCase() }),
  };
  if (password === undefined) return lower;
  const r = c.realm ?? realm;
  return { ...lower, realm: r, ha1: computeHa1(c.username, r, password, "MD5"), ha1Sha256: computeHa1(c.username, r, password, "SHA-256") };
}

/** The customer with every credential hashed (see hashCredentials); the same object when nothing changes. */
export function hashCustomerCredentials(customer: CustomerTrunk, realm: string): CustomerTrunk {
  const creds = customer.identification.credentials;
  if (!creds.some((c) => c.password !== undefined)) return customer;
  return { ...customer, identification: { ...customer.identification, credentials: creds.map((c) => hashCredentials(c, realm)) } };
}

/** The provisioning set with no customer password left, only HA1 hashes; carriers are untouched. */
export function hashProvisioningSecrets(p: Provisioning, realm: string): Provisioning {
  return { ...p, customers: p.customers.map((c) => hashCustomerCredentials(c, realm)) };
}

/**
 * The HA1 to verify a digest response for `username` with, or undefined: the stored hash of that
 * algorithm, only in the realm it was computed for. A password (credentials built in code and not
 * yet hashed) is hashed on the spot.
 */
export function storedHa1(c: DigestCredentials, username: string, realm: string, algorithm: DigestAlgorithm): string | undefined {
  if (c.username !== username) return undefined;
  if ((c.realm ?? realm) !== realm) return undefined;
  const stored = algorithm === "MD5" ? c.ha1 : c.ha1Sha256;
  if (stored !== undefined) return stored.toLowerCase();
  if (c.password !== undefined) return computeHa1(username, realm, c.password, algorithm);
  return undefined;
}
