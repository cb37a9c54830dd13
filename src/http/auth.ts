// API tokens: the config holds only sha256 hashes; a request's bearer token is hashed and compared
// in constant time. `read` may look, `admin` may also change and hang up.
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./errors.ts";

/** What a token allows: read may use GET (and HEAD), admin every method. */
export type ApiRole = "read" | "admin";

/** A configured token, as the config's http.tokens holds it. */
export interface ApiToken {
  readonly name: string;
  readonly role: ApiRole;
  /** Lower-case hex sha256 of the token text. */
  readonly sha256: string;
}

/** Who is calling: a named token, or the local operator when no tokens are configured. */
export interface ApiPrincipal {
  readonly name: string;
  readonly role: ApiRole;
}

/** The local operator: loopback with no tokens configured (the config refuses this anywhere else). */
export const LOCAL_OPERATOR: ApiPrincipal = { name: "local", role: "admin" };

/** Hex sha256 of a token, as `http.tokens[].sha256` wants it. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The principal behind an Authorization header, or the 401 explaining why there is none. */
export function authenticate(header: string | undefined, tokens: readonly ApiToken[]): ApiPrincipal {
  if (tokens.length === 0) return LOCAL_OPERATOR;
  if (header === undefined || header === "") throw new HttpError(401, "AUTH_REQUIRED", "this API needs a token: send Authorization: Bearer <token>");
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m === null) throw new HttpError(401, "AUTH_REQUIRED", "expected Authorization: Bearer <token>");
  const given = Buffer.from(hashToken(m[1] ?? ""), "hex");
  // Every token is compared, so the time taken does not tell which prefix matched.
  let found: ApiToken | undefined;
  for (const t of tokens) {
    const want = Buffer.from(t.sha256, "hex");
    if (want.length === given.length && timingSafeEqual(want, given)) found = t;
  }
  if (found === undefined) throw new HttpError(401, "AUTH_INVALID_TOKEN", "the token is not one of http.tokens");
  return { name: found.name, role: found.role };
}

/** Throws 403 when the principal's role may not use this method. */
export function authorize(principal: ApiPrincipal, method: string): void {
  if (principal.role === "admin" || method === "GET" || method === "HEAD") return;
  throw new HttpError(403, "AUTH_FORBIDDEN", `token ${principal.name} has role read: it may only use GET`);
}
