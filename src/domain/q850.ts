import { type Result, ok, err } from "../lib/index.ts";

/**
 * ISUP/Q.850 cause -> SIP status, RFC 3398 section 7.2.4.1. Cause 16 (normal clearing) has no
 * status: it ends an established call with BYE. Cause 21 gives 403, or 603 when the cause
 * location is the user; cause 22 with a diagnostic gives 301 (both noted in the RFC's table).
 */
const CAUSE_TO_SIP: ReadonlyMap<number, number> = new Map([
  [1, 404], [2, 404], [3, 404],
  [17, 486], [18, 408], [19, 480], [20, 480], [21, 403], [22, 410], [23, 410],
  [26, 404], [27, 502], [28, 484], [29, 501], [31, 480],
  [34, 503], [38, 503], [41, 503], [42, 503], [47, 503],
  [55, 403], [57, 403], [58, 503],
  [65, 488], [70, 488], [79, 501],
  [87, 403], [88, 503],
  [102, 504], [111, 500], [127, 500],
]);

/**
 * SIP status -> ISUP/Q.850 cause, RFC 3398 section 8.2.6.1. 487 has no cause there (the
 * canceller already released), and 488/606 take theirs from a Warning header; see `sipToQ850`.
 */
const SIP_TO_CAUSE: ReadonlyMap<number, number> = new Map([
  [400, 41], [401, 21], [402, 21], [403, 21], [404, 1], [405, 63], [406, 79], [407, 21],
  [408, 102], [410, 22], [413, 127], [414, 127], [415, 79], [416, 127], [420, 127],
  [421, 127], [423, 127], [480, 18], [481, 41], [482, 25], [483, 25], [484, 28],
  [485, 1], [486, 17],
  [500, 41], [501, 79], [502, 38], [503, 41], [504, 102], [505, 127], [513, 127],
  [600, 17], [603, 21], [604, 1],
]);

/** Q.850 cause names, for CDRs and the Reason header's text. */
const CAUSE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "Unallocated (unassigned) number"],
  [2, "No route to specified transit network"],
  [3, "No route to destination"],
  [6, "Channel unacceptable"],
  [16, "Normal call clearing"],
  [17, "User busy"],
  [18, "No user responding"],
  [19, "No answer from user (user alerted)"],
  [20, "Subscriber absent"],
  [21, "Call rejected"],
  [22, "Number changed"],
  [23, "Redirection to new destination"],
  [25, "Exchange routing error"],
  [26, "Non-selected user clearing"],
  [27, "Destination out of order"],
  [28, "Invalid number format (address incomplete)"],
  [29, "Facility rejected"],
  [31, "Normal, unspecified"],
  [34, "No circuit/channel available"],
  [38, "Network out of order"],
  [41, "Temporary failure"],
  [42, "Switching equipment congestion"],
  [47, "Resource unavailable, unspecified"],
  [55, "Incoming calls barred within CUG"],
  [57, "Bearer capability not authorized"],
  [58, "Bearer capability not presently available"],
  [63, "Service or option not available, unspecified"],
  [65, "Bearer capability not implemented"],
  [70, "Only restricted digital information bearer capability is available"],
  [79, "Service or option not implemented, unspecified"],
  [87, "User not member of CUG"],
  [88, "Incompatible destination"],
  [102, "Recovery on timer expiry"],
  [111, "Protocol error, unspecified"],
  [127, "Interworking, unspecified"],
]);

/** Q.850 cause for a call that ended normally after answer (BYE). */
export const Q850_NORMAL_CLEARING = 16;

/**
 * The SIP status for a Q.850 cause (RFC 3398 7.2.4.1); undefined for 16, which clears with BYE.
 * Causes the table does not list give 500, as the RFC's last row (127) does.
 */
export function q850ToSip(cause: number): number | undefined {
  if (cause === Q850_NORMAL_CLEARING) return undefined;
  return CAUSE_TO_SIP.get(cause) ?? 500;
}

/**
 * The Q.850 cause for a final SIP status (RFC 3398 8.2.6.1); 2xx is normal clearing. Where the
 * table gives no row we pick by meaning: 487 (the caller cancelled) is 16, a user clearing
 * (Q.850); 488/606 without the Warning the RFC consults are 88, incompatible destination;
 * other unlisted statuses take their class's most general row: 4xx 21, 5xx 41, 6xx 21, else 127.
 */
export function sipToQ850(status: number): number {
  if (status >= 200 && status < 300) return Q850_NORMAL_CLEARING;
  const listed = SIP_TO_CAUSE.get(status);
  if (listed !== undefined) return listed;
  if (status === 487) return Q850_NORMAL_CLEARING;
  if (status === 488 || status === 606) return 88;
  if (status >= 400 && status < 500) return 21;
  if (status >= 500 && status < 600) return 41;
  if (status >= 600 && status < 700) return 21;
  return 127;
}

/** The Q.850 name of a cause, or `Cause N` when it is not one we know. */
export function q850CauseText(cause: number): string {
  return CAUSE_NAMES.get(cause) ?? `Cause ${cause}`;
}

/** One value of an RFC 3326 Reason header. */
export interface ReasonValue {
  /** `SIP`, `Q.850`, or another protocol token. */
  readonly protocol: string;
  readonly cause?: number;
  readonly text?: string;
  /** Other parameters (reason-extension), names lowercased. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** Splits on `sep` outside quoted strings, honouring backslash escapes inside them. */
function splitOutsideQuotes(s: string, sep: string): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted && ch === "\\") {
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
    } else if (!quoted && ch === sep) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) return undefined;
  parts.push(s.slice(start));
  return parts;
}

function unquote(v: string): string | undefined {
  if (!(v.length >= 2 && v.startsWith('"') && v.endsWith('"'))) return undefined;
  return v.slice(1, -1).replace(/\\(.)/g, "$1");
}

/**
 * Parses a Reason header value, which may hold several comma-separated values
 * (`Q.850;cause=16;text="Terminated", SIP;cause=200`). RFC 3326 section 2 grammar.
 */
export function parseReason(header: string): Result<ReasonValue[], string> {
  const values = splitOutsideQuotes(header, ",");
  if (values === undefined) return err("unterminated quoted string");
  const out: ReasonValue[] = [];
  for (const value of values) {
    const parts = splitOutsideQuotes(value, ";") ?? [];
    const protocol = (parts[0] ?? "").trim();
    if (!TOKEN.test(protocol)) return err(`bad protocol ${JSON.stringify(protocol)}`);
    let cause: number | undefined;
    let text: string | undefined;
    const params: Record<string, string> = {};
    for (const raw of parts.slice(1)) {
      const eq = raw.indexOf("=");
      const name = (eq < 0 ? raw : raw.slice(0, eq)).trim().toLowerCase();
      const val = eq < 0 ? "" : raw.slice(eq + 1).trim();
      if (!TOKEN.test(name)) return err(`bad parameter ${JSON.stringify(raw.trim())}`);
      if (name === "cause") {
        if (!/^[0-9]{1,5}$/.test(val)) return err(`bad cause ${JSON.stringify(val)}`);
        cause = Number(val);
      } else if (name === "text") {
        // Some senders omit the quotes the grammar requires; the text is still worth keeping.
        text = unquote(val) ?? val;
      } else {
        params[name] = val;
      }
    }
    out.push({ protocol: protocol.toUpperCase() === "Q.850" ? "Q.850" : protocol, ...(cause !== undefined ? { cause } : {}), ...(text !== undefined ? { text } : {}), params });
  }
  return ok(out);
}

/** Writes one Reason value: `Q.850;cause=16;text="Normal call clearing"`. */
export function formatReason(value: { readonly protocol: string; readonly cause?: number; readonly text?: string }): string {
  let s = value.protocol;
  if (value.cause !== undefined) s += `;cause=${value.cause}`;
  if (value.text !== undefined) s += `;text="${value.text.replace(/["\\]/g, "\\$&")}"`;
  return s;
}

/** The Reason value for a Q.850 cause, with its name as text. */
export function q850Reason(cause: number): string {
  return formatReason({ protocol: "Q.850", cause, text: q850CauseText(cause) });
}

/** The Q.850 cause carried in a Reason header, if there is one. */
export function q850FromReason(header: string): number | undefined {
  const parsed = parseReason(header);
  if (!parsed.ok) return undefined;
  return parsed.value.find((v) => v.protocol === "Q.850" && v.cause !== undefined)?.cause;
}
