import type { SecurityEvent } from "./security.ts";

/** The shape of a parsed message, as plain numbers the parser already knows. */
export interface MessageShape {
  readonly headerCount: number;
  /** Longest header line in bytes, folded continuation lines included. */
  readonly longestHeaderLine: number;
  readonly viaCount: number;
  readonly bodyBytes: number;
  readonly requestUriBytes?: number;
  /** Whole message in bytes (start line, headers, body). */
  readonly messageBytes?: number;
}

/** Maxima for a message's shape. */
export interface MessageLimits {
  readonly maxHeaders: number;
  readonly maxHeaderLineBytes: number;
  readonly maxVias: number;
  readonly maxBodyBytes: number;
  readonly maxRequestUriBytes: number;
  readonly maxMessageBytes: number;
}

// Real trunk traffic sits far below these: an INVITE through three proxies has ~25 headers and
// 4 Vias, an SDP offer with many codecs is under 4 KB. The torture messages of RFC 4475 that are
// valid stay inside them; they exist to stop memory and CPU abuse, not odd-but-valid peers.
/** Defaults for `MessageLimits`. */
export const DEFAULT_MESSAGE_LIMITS: MessageLimits = {
  maxHeaders: 100,
  maxHeaderLineBytes: 4096,
  maxVias: 16,
  maxBodyBytes: 32 * 1024,
  maxRequestUriBytes: 1024,
  maxMessageBytes: 64 * 1024,
};

/** The rule a message broke. */
export type MessageRule = "max-headers" | "max-header-line" | "max-vias" | "max-body" | "max-request-uri" | "max-message";

/**
 * A shape verdict. `status` is the answer to a request (a response that breaks a rule is just
 * dropped); over UDP from an unknown source the caller may prefer to drop without answering.
 */
export type MessageVerdict =
  | { readonly kind: "ok" }
  | {
      readonly kind: "reject";
      readonly rule: MessageRule;
      readonly status: 400 | 413 | 414 | 513;
      readonly reasonPhrase: string;
      readonly reason: string;
      readonly event: SecurityEvent;
    };

/** Checks a message's shape against the limits; the first rule broken is reported. */
export function checkMessageShape(shape: MessageShape, limits: MessageLimits, now: number, source?: string): MessageVerdict {
  // Order: whole-message size first, since it bounds all the others and is the cheapest to know.
  const checks: [MessageRule, number | undefined, number, 400 | 413 | 414 | 513, string, string][] = [
    ["max-message", shape.messageBytes, limits.maxMessageBytes, 513, "Message Too Large", "message bytes"],
    ["max-body", shape.bodyBytes, limits.maxBodyBytes, 413, "Request Entity Too Large", "body bytes"],
    ["max-request-uri", shape.requestUriBytes, limits.maxRequestUriBytes, 414, "Request-URI Too Long", "Request-URI bytes"],
    ["max-headers", shape.headerCount, limits.maxHeaders, 400, "Too Many Headers", "headers"],
    ["max-header-line", shape.longestHeaderLine, limits.maxHeaderLineBytes, 400, "Header Line Too Long", "bytes in one header line"],
    ["max-vias", shape.viaCount, limits.maxVias, 400, "Too Many Via Headers", "Via entries"],
  ];
  for (const [rule, value, max, status, reasonPhrase, what] of checks) {
    if (value !== undefined && value > max) {
      const reason = `${value} ${what}, over the limit of ${max}${source !== undefined ? ` from ${source}` : ""}`;
      return {
        kind: "reject",
        rule,
        status,
        reasonPhrase,
        reason,
        event: { rule, action: "reject", reason, at: now, ...(source !== undefined ? { source } : {}), data: { value, max, status } },
      };
    }
  }
  return { kind: "ok" };
}
