/**
 * Codec for the values of WWW-Authenticate / Proxy-Authenticate (challenges) and
 * Authorization / Proxy-Authorization (credentials), RFC 3261 section 25.1:
 *
 *   challenge   = ("Digest" LWS digest-cln *(COMMA digest-cln)) / other-challenge
 *   credentials = ("Digest" LWS digest-response) / other-response
 *   auth-param  = auth-param-name EQUAL ( token / quoted-string )
 *
 * Parsing returns a typed result and never throws: these values arrive from the network.
 */
import { type Result, ok, err } from "../../lib/index.ts";

/** Why an auth header value could not be used; `unknown-scheme` is reported, not treated as garbage. */
export type AuthHeaderError =
  | { readonly code: "malformed"; readonly detail: string }
  | { readonly code: "unknown-scheme"; readonly scheme: string };

/** A scheme and its parameters, names lower-cased, values unquoted and unescaped. */
export interface AuthParams {
  /** The scheme as written (`Digest`, `Basic`, ...). */
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
}

/** A parsed `Digest` challenge (RFC 3261 20.44, RFC 7616 3.3). */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  domain?: string;
  stale: boolean;
  /** As received; absent means MD5 (RFC 7616 3.3). */
  algorithm?: string;
  /** qop-options, lower-cased, in order; empty when the server offered none (RFC 2069 style). */
  qop: string[];
  /** Every parameter, including the ones above, for extensions. */
  params: ReadonlyMap<string, string>;
}

/** A parsed `Digest` credentials value (RFC 3261 20.7, RFC 7616 3.4). */
export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  cnonce?: string;
  opaque?: string;
  /** message-qop, lower-cased. */
  qop?: string;
  /** nonce-count as the 8 hex digits received. */
  nc?: string;
  params: ReadonlyMap<string, string>;
}

// RFC 3261 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"); a table keeps the hot loop cheap.
const TOKEN_TABLE = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~") TOKEN_TABLE[c.charCodeAt(0)] = 1;

function isTokenChar(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 128 && TOKEN_TABLE[code] === 1;
}

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (const c of s) if (!isTokenChar(c)) return false;
  return true;
}

function isWs(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\n";
}

function malformed(detail: string): { readonly ok: false; readonly error: AuthHeaderError } {
  return err({ code: "malformed", detail });
}

/** Parses `scheme param=value, param="quoted, value"` into its scheme and parameters, whatever the scheme. */
export function parseAuthParams(value: string): Result<AuthParams, AuthHeaderError> {
  let i = 0;
  const n = value.length;
  while (i < n && isWs(value[i])) i++;
  const schemeStart = i;
  while (i < n && isTokenChar(value[i] as string)) i++;
  const scheme = value.slice(schemeStart, i);
  if (scheme.length === 0) return malformed("missing scheme");
  if (i < n && !isWs(value[i])) return malformed("invalid character after scheme");

  const params = new Map<string, string>();
  for (;;) {
    // Empty list elements (", ,") are tolerated as in HTTP's #rule.
    while (i < n && (isWs(value[i]) || value[i] === ",")) i++;
    if (i >= n) break;
    const nameStart = i;
    while (i < n && isTokenChar(value[i] as string)) i++;
    const name = value.slice(nameStart, i).toLowerCase();
    if (name.length === 0) return malformed(`invalid character at offset ${i}`);
    while (i < n && isWs(value[i])) i++;
    if (value[i] !== "=") return malformed(`parameter ${name} has no value`);
    i++;
    while (i < n && isWs(value[i])) i++;
    let paramValue = "";
    if (value[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = value[i] as string;
        if (c === "\\") {
          // quoted-pair: the next character stands for itself.
          if (i + 1 >= n) break;
          paramValue += value[i + 1];
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        paramValue += c;
        i++;
      }
      if (!closed) return malformed(`unterminated quoted value for ${name}`);
    } else {
      // Tokens per the grammar, but unquoted URIs and similar are seen in the wild: take up to the next separator.
      const start = i;
      while (i < n && value[i] !== "," && !isWs(value[i])) {
        if (value[i] === '"') return malformed(`stray quote in value of ${name}`);
        i++;
      }
      paramValue = value.slice(start, i);
      if (paramValue.length === 0) return malformed(`empty value for ${name}`);
    }
    // RFC 7616 3.3/3.4: each parameter MUST NOT appear more than once.
    if (params.has(name)) return malformed(`duplicate parameter ${name}`);
    params.set(name, paramValue);
    while (i < n && isWs(value[i])) i++;
    if (i < n && value[i] !== ",") return malformed(`expected comma after ${name}`);
  }
  return ok({ scheme, params });
}

function parseDigest(value: string): Result<AuthParams, AuthHeaderError> {
  // The scheme decides the syntax of what follows (Basic carries a token68, not params), so check it first.
  const scheme = /^[ \t\r\n]*([^ \t\r\n]+)/.exec(value)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== "digest" && [...scheme].every(isTokenChar)) {
    return err({ code: "unknown-scheme", scheme });
  }
  return parseAuthParams(value);
}

/** Parses a WWW-Authenticate / Proxy-Authenticate value carrying a Digest challenge. */
export function parseChallenge(value: string): Result<DigestChallenge, AuthHeaderError> {
  const parsed = parseDigest(value);
  if (!parsed.ok) return parsed;
  const p = parsed.value.params;
  const realm = p.get("realm");
  const nonce = p.get("nonce");
  if (realm === undefined) return malformed("challenge without realm");
  if (nonce === undefined) return malformed("challenge without nonce");
  const qopRaw = p.get("qop");
  const challenge: DigestChallenge = {
    realm,
    nonce,
    stale: p.get("stale")?.toLowerCase() === "true",
    qop:
      qopRaw === undefined
        ? []
        : qopRaw
            .split(",")
            .map((q) => q.trim().toLowerCase())
            .filter((q) => q.length > 0),
    params: p,
  };
  const opaque = p.get("opaque");
  if (opaque !== undefined) challenge.opaque = opaque;
  const domain = p.get("domain");
  if (domain !== undefined) challenge.domain = domain;
  const algorithm = p.get("algorithm");
  if (algorithm !== undefined) challenge.algorithm = algorithm;
  return ok(challenge);
}

/** Parses an Authorization / Proxy-Authorization value carrying Digest credentials. */
export function parseCredentials(value: string): Result<DigestCredentials, AuthHeaderError> {
  const parsed = parseDigest(value);
  if (!parsed.ok) return parsed;
  const p = parsed.value.params;
  const username = p.get("username");
  const realm = p.get("realm");
  const nonce = p.get("nonce");
  const uri = p.get("uri");
  const response = p.get("response");
  for (const [name, v] of [
    ["username", username],
    ["realm", realm],
    ["nonce", nonce],
    ["uri", uri],
    ["response", response],
  ] as const) {
    if (v === undefined) return malformed(`credentials without ${name}`);
  }
  const creds: DigestCredentials = {
    username: username as string,
    realm: realm as string,
    nonce: nonce as string,
    uri: uri as string,
    response: response as string,
    params: p,
  };
  const qop = p.get("qop");
  const nc = p.get("nc");
  const cnonce = p.get("cnonce");
  if (qop !== undefined) {
    creds.qop = qop.toLowerCase();
    // RFC 3261 20.7 / RFC 7616 3.4: with qop, cnonce and nc MUST be present; nc is 8LHEX.
    if (cnonce === undefined) return malformed("qop without cnonce");
    if (nc === undefined) return malformed("qop without nc");
  }
  if (nc !== undefined) {
    if (!/^[0-9a-fA-F]{8}$/.test(nc)) return malformed("nc is not 8 hex digits");
    creds.nc = nc;
  }
  if (cnonce !== undefined) creds.cnonce = cnonce;
  const algorithm = p.get("algorithm");
  if (algorithm !== undefined) creds.algorithm = algorithm;
  const opaque = p.get("opaque");
  if (opaque !== undefined) creds.opaque = opaque;
  return ok(creds);
}

/** Quotes a value as a quoted-string, escaping `"` and `\`. */
export function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function serializeParams(scheme: string, entries: Array<[string, string, boolean]>): string {
  return `${scheme} ${entries.map(([name, v, quoted]) => `${name}=${quoted || !isToken(v) ? quote(v) : v}`).join(", ")}`;
}

// Parameters the grammar defines as quoted-string; everything else is written bare when it is a token.
const QUOTED_CHALLENGE = new Set(["realm", "domain", "nonce", "opaque", "qop"]);
const QUOTED_CREDENTIALS = new Set(["username", "realm", "nonce", "uri", "response", "cnonce", "opaque"]);

function extras(params: ReadonlyMap<string, string>, known: ReadonlySet<string>, quoted: ReadonlySet<string>): Array<[string, string, boolean]> {
  const out: Array<[string, string, boolean]> = [];
  for (const [name, v] of params) if (!known.has(name)) out.push([name, v, quoted.has(name)]);
  return out;
}

const CHALLENGE_KNOWN = new Set(["realm", "domain", "nonce", "opaque", "stale", "algorithm", "qop"]);
const CREDENTIALS_KNOWN = new Set(["username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "opaque", "qop", "nc"]);

/** Writes a Digest challenge as a WWW-Authenticate / Proxy-Authenticate value; fields win over `params`. */
export function serializeChallenge(c: Omit<DigestChallenge, "params"> & { params?: ReadonlyMap<string, string> }): string {
  const entries: Array<[string, string, boolean]> = [["realm", c.realm, true]];
  if (c.domain !== undefined) entries.push(["domain", c.domain, true]);
  entries.push(["nonce", c.nonce, true]);
  if (c.opaque !== undefined) entries.push(["opaque", c.opaque, true]);
  if (c.stale) entries.push(["stale", "true", false]);
  if (c.algorithm !== undefined) entries.push(["algorithm", c.algorithm, false]);
  if (c.qop.length > 0) entries.push(["qop", c.qop.join(","), true]);
  if (c.params) entries.push(...extras(c.params, CHALLENGE_KNOWN, QUOTED_CHALLENGE));
  return serializeParams("Digest", entries);
}

/** Writes Digest credentials as an Authorization / Proxy-Authorization value; fields win over `params`. */
export function serializeCredentials(c: Omit<DigestCredentials, "params"> & { params?: ReadonlyMap<string, string> }): string {
  const entries: Array<[string, string, boolean]> = [
    ["username", c.username, true],
    ["realm", c.realm, true],
    ["nonce", c.nonce, true],
    ["uri", c.uri, true],
    ["response", c.response, true],
  ];
  if (c.algorithm !== undefined) entries.push(["algorithm", c.algorithm, false]);
  if (c.cnonce !== undefined) entries.push(["cnonce", c.cnonce, true]);
  if (c.opaque !== undefined) entries.push(["opaque", c.opaque, true]);
  if (c.qop !== undefined) entries.push(["qop", c.qop, false]);
  if (c.nc !== undefined) entries.push(["nc", c.nc, false]);
  if (c.params) entries.push(...extras(c.params, CREDENTIALS_KNOWN, QUOTED_CREDENTIALS));
  return serializeParams("Digest", entries);
}
