import type { BanRequest, SecurityEvent } from "./security.ts";

/**
 * User-Agent substrings of SIP scanning and cracking tools, matched case-insensitively.
 *
 * - `friendly-scanner`: the default UA of SIPVicious svmap/svwar/svcrack (older releases).
 * - `sipvicious`: SIPVicious and its forks that name themselves.
 * - `sipcli`, `vaxsipuseragent`, `sip-scan`, `iwar`, `sivus`, `sundayddr`: other scanners and
 *   war-diallers seen in honeypot logs and public drop lists.
 * - `pplsip`, `sipptk`: SIPPTS (its Python tools and the older Perl ones).
 *
 * `sipsak` is deliberately absent: it is the admin's Swiss army knife (OPTIONS pings from
 * monitoring such as Nagios check plugins, registration tests), so dropping it would break a
 * customer's health checks for little gain; scanners that use it still hit the rate limits.
 * Add it in config where no customer monitors with it.
 */
export const DEFAULT_SCANNER_USER_AGENTS: readonly string[] = [
  "friendly-scanner",
  "sipvicious",
  "sipcli",
  "vaxsipuseragent",
  "sip-scan",
  "iwar",
  "sivus",
  "sundayddr",
  "pplsip",
  "sipptk",
];

/** Scanner detection settings. */
export interface ScannerOptions {
  readonly patterns: readonly string[];
  /** Also ban the source, for this long (first offence); absent: drop only. */
  readonly banMs?: number;
}

/** A scanner verdict: pass, or drop without any answer (an answer tells the scanner a server is here). */
export type ScannerVerdict =
  | { readonly kind: "pass" }
  | {
      readonly kind: "drop";
      readonly pattern: string;
      readonly reason: string;
      readonly ban?: BanRequest;
      readonly event: SecurityEvent;
    };

/** A compiled scanner matcher. */
export interface ScannerDetector {
  /** Checks a request's User-Agent (absent header: pass). */
  check(userAgent: string | undefined, now: number, source?: string): ScannerVerdict;
}

/** Compiles the patterns once; a lookup lowercases the User-Agent and tests each substring. */
export function createScannerDetector(options: ScannerOptions = { patterns: DEFAULT_SCANNER_USER_AGENTS }): ScannerDetector {
  const patterns = [...new Set(options.patterns.map((p) => p.trim().toLowerCase()).filter((p) => p.length > 0))];
  return {
    check(userAgent, now, source) {
      if (userAgent === undefined || userAgent.length === 0) return { kind: "pass" };
      const ua = userAgent.toLowerCase();
      const pattern = patterns.find((p) => ua.includes(p));
      if (pattern === undefined) return { kind: "pass" };
      const reason = `User-Agent ${JSON.stringify(userAgent.slice(0, 128))} matches scanner pattern ${JSON.stringify(pattern)}`;
      const event: SecurityEvent = {
        rule: "scanner-user-agent",
        action: options.banMs !== undefined ? "drop-and-ban" : "drop",
        reason,
        at: now,
        ...(source !== undefined ? { source } : {}),
        data: { pattern, userAgent: userAgent.slice(0, 128) },
      };
      return options.banMs !== undefined
        ? { kind: "drop", pattern, reason, event, ban: { rule: "scanner-user-agent", reason, baseMs: options.banMs } }
        : { kind: "drop", pattern, reason, event };
    },
  };
}
