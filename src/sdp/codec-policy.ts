import { type Result, ok, err } from "../lib/index.ts";
import { type Codec, type CodecSpec, codecMatches, codecsOf, formatCodec, isAuxiliaryCodec, isRtpMedia, parseCodecSpec, withFormats } from "./codecs.ts";
import type { MediaDescription, NegotiationFailure, SessionDescription, StreamRejection } from "./types.ts";

/** A trunk's codec policy: an ordered allow-list, most preferred first. */
export interface CodecPolicy {
  readonly allow: readonly CodecSpec[];
  /** Media types the policy governs; default ["audio"]. Other streams (video, T.38) pass untouched. */
  readonly mediaTypes?: readonly string[];
}

/** Builds a policy from config strings such as `["G722", "PCMU", "opus/48000/2", "telephone-event/8000"]`. */
export function parseCodecPolicy(allow: readonly string[], mediaTypes?: readonly string[]): Result<CodecPolicy, string> {
  const specs: CodecSpec[] = [];
  for (const [i, text] of allow.entries()) {
    const spec = parseCodecSpec(text);
    if (spec === undefined) return err(`codecs[${i}]: ${JSON.stringify(text)} is not name[/rate[/channels]]`);
    specs.push(spec);
  }
  return ok(mediaTypes === undefined ? { allow: specs } : { allow: specs, mediaTypes });
}

function formatSpec(s: CodecSpec): string {
  let out = s.name;
  if (s.clockRate !== undefined) out += `/${s.clockRate}`;
  if (s.channels !== undefined) out += `/${s.channels}`;
  return out;
}

/**
 * Filters and reorders an offer by a trunk's allow-list. A governed stream left
 * with no voice codec is disabled (port 0, so m= lines still line up with the
 * answer); when no active stream remains, the result is a failure whose message
 * says what was offered and what was allowed, for a 488 with a Warning.
 */
export function applyCodecPolicy(sdp: SessionDescription, policy: CodecPolicy): Result<SessionDescription, NegotiationFailure> {
  const governed = (policy.mediaTypes ?? ["audio"]).map((t) => t.toLowerCase());
  const rejections: StreamRejection[] = [];
  let active = 0;
  const media = sdp.media.map((m, index): MediaDescription => {
    if (m.port === 0 || !governed.includes(m.type.toLowerCase()) || !isRtpMedia(m)) {
      if (m.port !== 0) active++;
      return m;
    }
    const offered = codecsOf(m);
    const kept = orderByPolicy(offered, policy.allow);
    const offeredVoice = offered.some((c) => !isAuxiliaryCodec(c));
    const keptVoice = kept.some((c) => !isAuxiliaryCodec(c));
    if (kept.length === 0 || (offeredVoice && !keptVoice)) {
      const names = offered.map(formatCodec).join(", ") || "none";
      rejections.push({ index, type: m.type, reason: `no allowed codec (offered ${names})` });
      return { ...withFormats(m, m.formats), port: 0 };
    }
    active++;
    return withFormats(m, kept.map((c) => String(c.payloadType)));
  });
  if (active === 0 && rejections.length > 0) {
    const offered = rejections.map((r) => `m-line ${r.index} (${r.type}): ${r.reason}`).join("; ");
    const message = `no codec in common with the trunk policy: ${offered}; allowed ${policy.allow.map(formatSpec).join(", ") || "none"}`;
    return err({ code: "SDP_NO_COMMON_CODEC", warnCode: 305, message, streams: rejections });
  }
  return ok({ ...sdp, media });
}

/** The offered codecs the allow-list admits, in allow-list order; ties keep the offer's order. */
export function orderByPolicy(offered: readonly Codec[], allow: readonly CodecSpec[]): Codec[] {
  const taken = new Set<Codec>();
  const out: Codec[] = [];
  for (const spec of allow) {
    for (const c of offered) {
      if (!taken.has(c) && codecMatches(c, spec)) {
        taken.add(c);
        out.push(c);
      }
    }
  }
  return out;
}
