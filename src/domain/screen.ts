import type { BanList } from "./bans.ts";
import { type MessageLimits, type MessageShape, checkMessageShape } from "./message-limits.ts";
import type { ScannerDetector } from "./scanners.ts";
import type { BanRequest, SecurityEvent } from "./security.ts";
import type { SourceLimiter } from "./source-limits.ts";

/** The per-request security state the transport layer holds (one of each per server). */
export interface RequestScreen {
  readonly bans: BanList;
  readonly limiter: SourceLimiter;
  readonly scanners: ScannerDetector;
  readonly messageLimits: MessageLimits;
}

/** What the transport knows of an incoming request once it is parsed. */
export interface RequestFacts {
  readonly source: string;
  readonly method: string;
  readonly userAgent?: string;
  readonly shape: MessageShape;
}

/**
 * The screen's answer. `drop`: say nothing (banned, scanner, flood); `reject`: answer with
 * `status` statelessly. `event` is absent for drops from an already-banned source, so a flood
 * does not become a flood of log lines; count those in a metric instead.
 */
export type ScreenVerdict =
  | { readonly kind: "pass"; readonly reason: string }
  | { readonly kind: "drop"; readonly rule: string; readonly reason: string; readonly event?: SecurityEvent; readonly banEvent?: SecurityEvent }
  | {
      readonly kind: "reject";
      readonly rule: string;
      readonly status: number;
      readonly reasonPhrase: string;
      readonly reason: string;
      readonly event: SecurityEvent;
    };

function placeBan(screen: RequestScreen, source: string, ban: BanRequest | undefined, now: number): SecurityEvent | undefined {
  if (ban === undefined) return undefined;
  const out = screen.bans.ban(source, ban, now);
  if (out.kind === "refused") return undefined;
  // A banned source's buckets are moot; dropping them keeps the limiter table for live sources.
  screen.limiter.forget(source);
  return out.event;
}

/**
 * Runs a new request through the checks in order of cost and certainty: ban list, scanner
 * User-Agent, message shape, then the per-source rate. Places the bans the rules ask for.
 */
export function screenRequest(screen: RequestScreen, facts: RequestFacts, now: number): ScreenVerdict {
  const banned = screen.bans.check(facts.source, now);
  if (banned.kind === "banned") return { kind: "drop", rule: "banned", reason: banned.reason };

  const scanner = screen.scanners.check(facts.userAgent, now, facts.source);
  if (scanner.kind === "drop") {
    const banEvent = placeBan(screen, facts.source, scanner.ban, now);
    return { kind: "drop", rule: "scanner-user-agent", reason: scanner.reason, event: scanner.event, ...(banEvent !== undefined ? { banEvent } : {}) };
  }

  const shape = checkMessageShape(facts.shape, screen.messageLimits, now, facts.source);
  if (shape.kind === "reject") {
    return { kind: "reject", rule: shape.rule, status: shape.status, reasonPhrase: shape.reasonPhrase, reason: shape.reason, event: shape.event };
  }

  const rate = screen.limiter.check(facts.source, facts.method, now);
  if (rate.kind === "drop-and-ban") {
    const banEvent = placeBan(screen, facts.source, rate.ban, now);
    return { kind: "drop", rule: rate.ban.rule, reason: rate.reason, event: rate.event, ...(banEvent !== undefined ? { banEvent } : {}) };
  }
  return { kind: "pass", reason: rate.reason };
}
