// The B2BUA's rules about messages: which headers cross, how RFC 4028 and RFC 3262 values read,
// which failed attempt speaks for a forked batch. Pure functions, tested in sip-rules.test.ts.
import type { AttemptOutcome } from "../domain/index.ts";
import { canonicalHeaderName, getHeader, getHeaders, type HeaderField, type SipRequest, type SipResponse } from "../sip/index.ts";

/** Headers that cross the B2BUA; everything else (Via, Contact, Record-Route, Call-ID, vendor headers) stays on its side. */
const END_TO_END = new Set(
  [
    "reason", "session-expires", "min-se", "event", "subscription-state", "refer-to", "referred-by", "info-package",
    "recv-info", "p-asserted-identity", "privacy", "content-disposition", "accept", "retry-after", "user-to-user", "allow",
  ],
);

/** Copies the headers that may cross, from a message on one side to one on the other (compact names too: `r:` is Refer-To). */
export function endToEndHeaders(message: SipRequest | SipResponse): HeaderField[] {
  return message.headers.filter((h) => END_TO_END.has(canonicalHeaderName(h.name)));
}

/** True when a header such as Supported or Require lists the option tag. */
export function hasOptionTag(message: SipRequest | SipResponse, header: string, tag: string): boolean {
  return getHeaders(message, header).some((t) => t.trim().toLowerCase() === tag);
}

/** Delta-seconds of a Session-Expires value (RFC 4028 4), or null. */
export function sessionExpiresOf(message: SipRequest | SipResponse): { seconds: number; refresher: string | null } | null {
  const value = getHeader(message, "Session-Expires");
  if (value === undefined) return null;
  const m = /^\s*(\d+)\s*(?:;(.*))?$/.exec(value);
  if (m === null) return null;
  const refresher = /refresher\s*=\s*(uac|uas)/i.exec(m[2] ?? "");
  return { seconds: Number(m[1]), refresher: refresher?.[1]?.toLowerCase() ?? null };
}

/** Which failed outcome speaks for a batch: a response over a timeout over a transport error; 6xx first, then the lowest status. */
export function outranks(a: AttemptOutcome, b: AttemptOutcome): boolean {
  const kindRank = (o: AttemptOutcome): number => (o.kind === "response" ? 2 : o.kind === "timeout" ? 1 : 0);
  if (kindRank(a) !== kindRank(b)) return kindRank(a) > kindRank(b);
  if (a.kind !== "response" || b.kind !== "response") return false;
  const six = (s: number): boolean => s >= 600;
  if (six(a.status) !== six(b.status)) return six(a.status);
  return a.status < b.status;
}
