// The `http:` section: where the REST API and /metrics listen, who may use them (hashed API
// tokens) and TLS. A listener that other hosts can reach must have both TLS and a token: an
// operator who binds 0.0.0.0 by mistake gets a config error, not an open provisioning API.
import { isIP } from "node:net";
import { z } from "zod";
import { nonEmptyString, oneOf, section } from "./zod-helpers.ts";

/** `host:port` or `[v6]:port` where host is a numeric IP; used by the HTTP listener. */
export function parseHostPort(text: string): { address: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const address = m[1] ?? m[2] ?? "";
  const port = Number(m[3]);
  if (isIP(address) === 0 || port > 65535) return undefined;
  return { address, port };
}

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x: addresses only this host can reach. */
export function isLoopbackAddress(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith("127.");
  const lower = address.toLowerCase();
  return lower === "::1" || lower.startsWith("::ffff:127.");
}

export const HTTP_TOKEN_ROLES = ["read", "admin"] as const;

const tokenSchema = section({
  name: nonEmptyString("a name for the token (shown in logs)"),
  role: oneOf(HTTP_TOKEN_ROLES),
  // Only the hash is kept, so a leaked config file does not leak working tokens.
  sha256: z.string({ error: "expected 64 hex digits (sha256 of the token)" }).regex(/^[0-9a-fA-F]{64}$/, { error: "expected 64 hex digits (sha256 of the token)" }).transform((s) => s.toLowerCase()),
});

const httpTlsSchema = section({
  certFile: nonEmptyString("a path to a PEM certificate file"),
  keyFile: nonEmptyString("a path to a PEM private key file"),
});

/** The `http:` section of the config. */
export const httpSchema = section({
  listen: z
    .string({ error: "expected host:port" })
    .refine((s) => parseHostPort(s) !== undefined, { error: "expected an IP address and port such as 127.0.0.1:8080 or [::1]:8080" })
    .default("127.0.0.1:8080"),
  enabled: z.boolean({ error: "expected true or false" }).default(true),
  tokens: z.array(tokenSchema, { error: "expected a list of { name, role, sha256 }" }).default([]),
  tls: httpTlsSchema.optional(),
}).superRefine((http, ctx) => {
  const names = new Set<string>();
  http.tokens.forEach((t, i) => {
    if (names.has(t.name)) ctx.addIssue({ code: "custom", path: ["tokens", i, "name"], message: `duplicate token name ${t.name}` });
    names.add(t.name);
  });
  const hostPort = parseHostPort(http.listen);
  if (!http.enabled || hostPort === undefined || isLoopbackAddress(hostPort.address)) return;
  if (http.tls === undefined || http.tokens.length === 0) {
    ctx.addIssue({
      code: "custom",
      path: ["listen"],
      message: `${hostPort.address} is reachable from other hosts: the API needs http.tls (certFile, keyFile) and at least one entry in http.tokens there`,
    });
  }
});

export type HttpTokenConfig = z.output<typeof tokenSchema>;
