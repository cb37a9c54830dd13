import { type Result, err, ok } from "../../lib/index.ts";
import {
  type Codec,
  type CodecSpec,
  type MediaDescription,
  type SessionDescription,
  attribute,
  codecsOf,
  formatCodec,
  formatRtpmap,
  isAuxiliaryCodec,
  isRtpMedia,
  orderByPolicy,
  sameName,
  withFormats,
} from "../../sdp/index.ts";
import type { G711Law } from "../g711.ts";

/*
 * Codec decisions across the two legs. The relay can convert only between the two G.711 laws
 * (a table lookup per octet); anything else must be common to both legs or the call fails 488.
 */

/** How one m= line crosses the relay. */
export type StreamCodecMode = "pass-through" | "transcode" | "not-governed";

/** The outcome of planCodecs(): the offer for the other leg, and what each stream needs. */
export interface CodecPlan {
  /** "transcode" when any stream needs PCMU<->PCMA conversion. */
  readonly kind: "pass-through" | "transcode";
  readonly offer: SessionDescription;
  readonly streams: readonly StreamCodecMode[];
}

/** Why no plan exists: the call layer answers 488 with Warning 305 and this message. */
export interface CodecMismatch {
  readonly code: "MEDIA_CODEC_MISMATCH";
  readonly warnCode: 305;
  readonly message: string;
}

const G711_RATE = 8000;
const STATIC_PT: Readonly<Record<G711Law, number>> = { PCMU: 0, PCMA: 8 };

/** The G.711 law of a codec, if it is one. */
export function g711LawOf(c: Pick<Codec, "name" | "clockRate">): G711Law | undefined {
  if (c.clockRate !== G711_RATE) return undefined;
  if (sameName(c.name, "PCMU")) return "PCMU";
  if (sameName(c.name, "PCMA")) return "PCMA";
  return undefined;
}

/** The other G.711 law. */
export function otherLaw(law: G711Law): G711Law {
  return law === "PCMU" ? "PCMA" : "PCMU";
}

function specAllowsLaw(spec: CodecSpec, law: G711Law): boolean {
  return sameName(spec.name, law) && (spec.clockRate === undefined || spec.clockRate === G711_RATE) && (spec.channels ?? 1) === 1;
}

function formatSpec(s: CodecSpec): string {
  return [s.name, s.clockRate, s.channels].filter((x) => x !== undefined).join("/");
}

function governed(m: MediaDescription): boolean {
  return m.port !== 0 && m.type.toLowerCase() === "audio" && isRtpMedia(m);
}

/**
 * Decides, for an offer from one leg and the other leg's codec allow-list (most preferred first),
 * whether media passes through (a common codec exists: the offer is filtered and ordered by the
 * list), is transcoded (only PCMU on one side and only PCMA on the other: the offer names the
 * allowed law instead) or cannot work (failure for a 488). Non-audio streams are left alone.
 */
export function planCodecs(offer: SessionDescription, allow: readonly CodecSpec[]): Result<CodecPlan, CodecMismatch> {
  const modes: StreamCodecMode[] = [];
  const reasons: string[] = [];
  let active = 0;
  const media = offer.media.map((m, index): MediaDescription => {
    if (!governed(m)) {
      modes.push("not-governed");
      if (m.port !== 0) active++;
      return m;
    }
    const offered = codecsOf(m);
    const kept = orderByPolicy(offered, allow);
    if (kept.some((c) => !isAuxiliaryCodec(c))) {
      modes.push("pass-through");
      active++;
      return withFormats(m, kept.map((c) => String(c.payloadType)));
    }
    const target = transcodeTarget(offered, allow);
    if (target === undefined) {
      modes.push("pass-through");
      const names = offered.map(formatCodec).join(", ") || "none";
      reasons.push(`m-line ${index}: offered ${names}`);
      return { ...m, port: 0 };
    }
    modes.push("transcode");
    active++;
    const aux = kept.filter((c) => isAuxiliaryCodec(c)).map((c) => String(c.payloadType));
    const pt = STATIC_PT[target];
    const withTarget = withFormats(m, [String(pt), ...aux]);
    // Static types need no rtpmap, but some gateways only read rtpmap lines.
    const rtpmap = attribute("rtpmap", formatRtpmap({ payloadType: pt, encodingName: target, clockRate: G711_RATE }));
    return { ...withTarget, attributes: [rtpmap, ...withTarget.attributes] };
  });
  if (active === 0) {
    const allowed = allow.map(formatSpec).join(", ") || "none";
    return err({
      code: "MEDIA_CODEC_MISMATCH",
      warnCode: 305,
      message: `no codec in common and none transcodable (only PCMU<->PCMA): ${reasons.join("; ")}; allowed ${allowed}`,
    });
  }
  return ok({ kind: modes.includes("transcode") ? "transcode" : "pass-through", offer: { ...offer, media }, streams: modes });
}

/** The law the other leg should get when the offer has one G.711 law and the allow-list only the other. */
function transcodeTarget(offered: readonly Codec[], allow: readonly CodecSpec[]): G711Law | undefined {
  for (const spec of allow) {
    for (const law of ["PCMU", "PCMA"] as const) {
      if (specAllowsLaw(spec, law) && offered.some((c) => g711LawOf(c) === otherLaw(law))) return law;
    }
  }
  return undefined;
}

/** The first voice codec of a stream (the one an answer chose), if any. */
export function mainCodec(codecs: readonly Codec[]): Codec | undefined {
  return codecs.find((c) => !isAuxiliaryCodec(c));
}

/** The telephone-event codec of a stream at `clockRate`, if negotiated. */
export function telephoneEventOf(codecs: readonly Codec[], clockRate = G711_RATE): Codec | undefined {
  return codecs.find((c) => sameName(c.name, "telephone-event") && c.clockRate === clockRate);
}

/** A stream without its telephone-event formats (for a leg that signals DTMF otherwise). */
export function withoutTelephoneEvent(m: MediaDescription): MediaDescription {
  const te = new Set(codecsOf(m).filter((c) => sameName(c.name, "telephone-event")).map((c) => String(c.payloadType)));
  if (te.size === 0) return m;
  return withFormats(m, m.formats.filter((f) => !te.has(f)));
}

/** A stream that offers telephone-event/8000 (RFC 4733 events 0-15), adding it with a free dynamic type if missing. */
export function withTelephoneEvent(m: MediaDescription, preferredPt = 101): MediaDescription {
  if (!isRtpMedia(m) || telephoneEventOf(codecsOf(m)) !== undefined) return m;
  const used = new Set(m.formats);
  let pt = preferredPt;
  while (used.has(String(pt)) && pt < 127) pt++;
  if (used.has(String(pt))) return m;
  return {
    ...m,
    formats: [...m.formats, String(pt)],
    attributes: [
      ...m.attributes,
      attribute("rtpmap", formatRtpmap({ payloadType: pt, encodingName: "telephone-event", clockRate: G711_RATE })),
      attribute("fmtp", `${pt} 0-15`),
    ],
  };
}

/**
 * Rewrites an answer stream for the offerer when the answerer chose a codec the offerer did not
 * offer: the offerer gets its own number for the other G.711 law and for telephone-event.
 * Undefined when the answer's codec is neither offered nor transcodable.
 */
export function answerForOfferer(answer: MediaDescription, offered: readonly Codec[], keepTelephoneEvent: boolean): MediaDescription | undefined {
  const answered = codecsOf(answer);
  const main = mainCodec(answered);
  const offeredTe = telephoneEventOf(offered);
  const answerTe = telephoneEventOf(answered);
  const teFormats = keepTelephoneEvent && offeredTe !== undefined ? [String(offeredTe.payloadType)] : [];
  if (main === undefined || offered.some((c) => c.payloadType === main.payloadType && sameName(c.name, main.name))) {
    // Same codec: only telephone-event may need to be put back or taken out.
    let out = keepTelephoneEvent ? answer : withoutTelephoneEvent(answer);
    if (keepTelephoneEvent && answerTe === undefined && offeredTe !== undefined) out = withOffered(out, out.formats.concat(teFormats), offered);
    return out;
  }
  const sameCodec = offered.find((c) => sameName(c.name, main.name) && c.clockRate === main.clockRate);
  const law = g711LawOf(main);
  const target = sameCodec ?? (law === undefined ? undefined : offered.find((c) => g711LawOf(c) === otherLaw(law)));
  if (target === undefined) return undefined;
  return withOffered(answer, [String(target.payloadType), ...teFormats], offered);
}

/** The stream with `formats`, each described by the offer's rtpmap/fmtp rather than the answer's. */
function withOffered(m: MediaDescription, formats: readonly string[], offered: readonly Codec[]): MediaDescription {
  const perFormat = new Set(["rtpmap", "fmtp"]);
  const attributes = m.attributes.filter((a) => a.kind !== "attribute" || !perFormat.has(a.name));
  const described = [];
  for (const f of formats) {
    const c = offered.find((x) => String(x.payloadType) === f);
    if (c === undefined) continue;
    described.push(attribute("rtpmap", formatRtpmap({ payloadType: c.payloadType, encodingName: c.name, clockRate: c.clockRate })));
    if (c.fmtp !== undefined) described.push(attribute("fmtp", `${c.payloadType} ${c.fmtp}`));
  }
  return { ...m, formats: [...formats], attributes: [...described, ...attributes] };
}
