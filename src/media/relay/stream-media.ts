import { randomInt } from "node:crypto";
import type { Clock } from "../../lib/index.ts";
import {
  type Codec,
  type CryptoAttribute,
  type MediaDescription,
  type StreamInfo,
  attribute,
  codecsOf,
  cryptosOf,
  formatCrypto,
} from "../../sdp/index.ts";
import { DtmfReceiver, dtmfEventCode, dtmfPacketSequence, marshalDtmfEvent, parseDtmfEvent, DTMF_EVENT_SIZE } from "../dtmf-event.ts";
import { type G711Law, encodeAlaw, encodeUlaw, transcodeRtpPacketG711 } from "../g711.ts";
import { type EModelCodec, type ReceiveStats, SendStats, eModelCodecOf, mosFromEModel, ntpMiddle32 } from "../quality.ts";
import type { ReceptionReport } from "../rtcp-receiver-report.ts";
import { type RtcpPacket, marshalRtcpCompound, parseRtcpCompound, rtcpCompoundSize } from "../rtcp-compound.ts";
import { SDES_CNAME } from "../rtcp-sdes.ts";
import {
  RTP_FIXED_HEADER_SIZE,
  readRtpPayloadType,
  readRtpSequenceNumber,
  readRtpSsrc,
  readRtpTimestamp,
  rtpPayloadOffset,
  writeRtpPayloadType,
  writeRtpSequenceNumber,
} from "../rtp-packet.ts";
import { generateSrtpMasterKey, sdesCryptoAttribute, sdesKeyOf } from "../sdes-key.ts";
import { type SrtpContext, type SrtpMasterKey, type SrtpProfile, createSrtpContext } from "../srtp.ts";
import { g711LawOf, mainCodec, otherLaw, telephoneEventOf } from "./codec-plan.ts";
import { MediaRelayError } from "./errors.ts";
import type { Channel, LegName, PacketProcessor, ProcessorDrop } from "./relay-session.ts";

/** How a leg's trunk does SRTP (SDES): insist, follow the other leg, or never. */
export type SrtpMode = "required" | "optional" | "off";
/** How a leg's trunk carries DTMF: RFC 4733 events in RTP, SIP INFO, or tones in the audio. */
export type DtmfMode = "rfc4733" | "info" | "inband";

/** Per-leg media behaviour, set by the call layer from the trunk. */
export interface LegMediaOptions {
  readonly srtp: SrtpMode;
  readonly dtmf: DtmfMode;
  /** Accept media only from the SDP's address (no latching). */
  readonly strictLatching?: boolean;
}

/** Default for a leg nobody configured: SRTP if the other side does, RFC 4733 events. */
export const DEFAULT_LEG_MEDIA: LegMediaOptions = { srtp: "optional", dtmf: "rfc4733" };

/**
 * A digit seen in RFC 4733 events from `fromLeg`. `relayed` is true when it reached the other leg
 * in its media (as events, or as tones for an inband leg), so no SIP INFO is needed for it.
 */
export interface DtmfDigitEvent {
  readonly type: "dtmf";
  readonly digit: string;
  readonly durationMs: number;
  readonly fromLeg: LegName;
  readonly relayed: boolean;
}

/** Quality of one direction of one leg, for the CDR. Counts the relay cannot know are undefined. */
export interface DirectionQuality {
  readonly packets: number;
  readonly bytes: number;
  readonly lost: number | undefined;
  readonly outOfOrder: number | undefined;
  readonly duplicates: number | undefined;
  readonly jitterMs: number | undefined;
  /** Round trip between the relay and this leg's endpoint, from its RTCP reports. */
  readonly rttMs: number | undefined;
  /** G.107 estimate for the leg's negotiated codec; undefined before any packet or for codecs the E-model lacks. */
  readonly mos: number | undefined;
}

/** A leg's two directions: `received` is from its endpoint to the relay, `sent` from the relay to it (as its RRs tell). */
export interface LegQuality {
  readonly codec: string | undefined;
  readonly srtp: boolean;
  readonly received: DirectionQuality;
  readonly sent: DirectionQuality;
}

const SUITES: readonly SrtpProfile[] = ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"];
const SRTCP_OVERHEAD = 14;
const PT_COUNT = 128;
const SR_RING = 8;
const TONE_RATE = 8000;
// Each of the two DTMF frequencies at about -10 dBm0, well inside G.711's range.
const TONE_AMPLITUDE = 7000;
// Ends a tone whose end packets were all lost.
const TONE_GUARD_MS = 250;
// The longest stretch of tone one event packet may stand for (200 ms).
const MAX_TONE_SAMPLES = 1600;
// ITU-T Q.23 low and high frequencies for events 0-9, *, #, A-D (RFC 4733 3.2 order).
const DTMF_LOW = [941, 697, 697, 697, 770, 770, 770, 852, 852, 852, 941, 941, 697, 770, 852, 941] as const;
const DTMF_HIGH = [1336, 1209, 1336, 1477, 1209, 1336, 1477, 1209, 1336, 1477, 1209, 1477, 1633, 1633, 1633, 1633] as const;

// Per payload type, what happens to a packet on its way to a leg.
const PASS = 0;
const REMAP = 1;
const TRANSCODE = 2;
const EVENT = 3;
const DROP = 4;

function secureProtocol(protocol: string): string {
  return protocol.replace(/RTP\/AVP/i, "RTP/SAVP");
}

function plainProtocol(protocol: string): string {
  return protocol.replace(/RTP\/SAVP/i, "RTP/AVP");
}

function isSecure(protocol: string): boolean {
  return /RTP\/SAVP/i.test(protocol);
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function withoutCrypto(m: MediaDescription): MediaDescription {
  return { ...m, attributes: m.attributes.filter((a) => a.kind !== "attribute" || a.name !== "crypto") };
}

/** One side of a stream: what its endpoint negotiated and the per-packet state towards it. */
class LegMedia {
  options: LegMediaOptions;
  /** Their key: unprotects what the endpoint sends. */
  recv: SrtpContext | undefined;
  recvKey: SrtpMasterKey | undefined;
  /** Our key: protects what we send the endpoint. */
  send: SrtpContext | undefined;
  /** Our master key per suite, made once per leg so re-INVITEs keep it (RFC 4568 allows reuse). */
  readonly ownKeys = new Map<SrtpProfile, SrtpMasterKey>();
  /** The crypto line the endpoint offered and we will answer (tag and suite), with its protocol. */
  pendingAnswer: { readonly tag: number; readonly profile: SrtpProfile } | undefined;
  offeredProtocol = "RTP/AVP";
  /** Suites we offered the endpoint, by tag. */
  offeredSuites: Map<number, SrtpProfile> | undefined;
  /** Codecs the endpoint's own SDP names: how to read what it sends. */
  codecs: readonly Codec[] = [];
  readonly byPt: (Codec | undefined)[] = new Array<Codec | undefined>(PT_COUNT).fill(undefined);
  /** Towards this leg, per incoming payload type: action and the type to write. */
  readonly action = new Uint8Array(PT_COUNT);
  readonly targetPt = new Uint8Array(PT_COUNT);
  readonly fromLaw: (G711Law | undefined)[] = new Array<G711Law | undefined>(PT_COUNT).fill(undefined);
  readonly toLaw: (G711Law | undefined)[] = new Array<G711Law | undefined>(PT_COUNT).fill(undefined);
  telephoneEvent: Codec | undefined;
  readonly dtmf = new DtmfReceiver();
  // The outgoing RTP stream towards this leg, so injected events continue its numbering.
  ssrc: number | undefined;
  lastSeq = 0;
  lastTimestamp = 0;
  lastAt = 0;
  seqOffset = 0;
  // SRs forwarded towards this leg (LSR and relay arrival), matched against its reports for RTT.
  readonly srLsr = new Uint32Array(SR_RING);
  readonly srAt = new Float64Array(SR_RING);
  srNext = 0;
  rttMs: number | undefined;
  /** The leg's latest report block about what we send it. */
  report: ReceptionReport | undefined;
  // For our own RTCP towards this leg (streams the relay rewrites): what we sent it, the source
  // it sends us, its last SR (for LSR/DLSR), and our SSRC when we only receive.
  sendStats: SendStats | undefined;
  remoteSsrc: number | undefined;
  lastSrLsr = 0;
  lastSrAt = 0;
  readonly ownSsrc = randomInt(0, 0x100000000);
  // In-band tone generation towards this leg: the event being played and the samples already sent.
  toneTimestamp = -1;
  toneSamples = 0;
  toneUntil = 0;

  constructor(
    readonly name: LegName,
    options: LegMediaOptions,
  ) {
    this.options = options;
  }

  ownKey(profile: SrtpProfile): SrtpMasterKey {
    let k = this.ownKeys.get(profile);
    if (k === undefined) {
      k = generateSrtpMasterKey();
      this.ownKeys.set(profile, k);
    }
    return k;
  }

  setCodecs(codecs: readonly Codec[]): void {
    this.codecs = codecs;
    this.byPt.fill(undefined);
    for (const c of codecs) if (c.payloadType < PT_COUNT) this.byPt[c.payloadType] = c;
    this.telephoneEvent = telephoneEventOf(codecs);
  }

  setRecv(profile: SrtpProfile, key: SrtpMasterKey): void {
    if (this.recv !== undefined && this.recv.profile === profile && this.recvKey !== undefined && sameBytes(this.recvKey.key, key.key) && sameBytes(this.recvKey.salt, key.salt)) return;
    const ctx = createSrtpContext(profile, key);
    if (!ctx.ok) throw new MediaRelayError("MEDIA_SRTP_UNSUPPORTED", `leg ${this.name}: unusable SRTP key`, { warnCode: 302 });
    this.recv = ctx.value;
    this.recvKey = key;
  }

  setSend(profile: SrtpProfile): void {
    if (this.send?.profile === profile) return;
    const ctx = createSrtpContext(profile, this.ownKey(profile));
    if (!ctx.ok) throw new Error("generated SRTP key rejected");
    this.send = ctx.value;
  }

  plain(): void {
    this.recv = this.send = this.recvKey = undefined;
  }
}

/** The first a=crypto of a stream this relay can use, with its decoded key. */
function usableCrypto(m: MediaDescription): { tag: number; profile: SrtpProfile; key: SrtpMasterKey } | undefined {
  for (const c of cryptosOf(m)) {
    const k = sdesKeyOf(c);
    // MKI keys would need an MKI on every packet; this relay does not send one.
    if (k.ok && k.value.key.mki === undefined) return { tag: c.tag, profile: k.value.profile, key: k.value.key };
  }
  return undefined;
}

/**
 * The media work of one relayed stream: SDES-SRTP termination per leg, payload type mapping
 * and PCMU<->PCMA transcoding between the legs, RFC 4733 DTMF relaying and detection, and
 * RTCP-based quality. It rewrites the SDP each leg gets and processes packets on the hot path.
 */
export class StreamMedia implements PacketProcessor {
  readonly legs: { readonly a: LegMedia; readonly b: LegMedia };
  private offerer: LegName | undefined;
  private readonly wallOffset: number;

  constructor(
    options: { readonly a: LegMediaOptions; readonly b: LegMediaOptions },
    private readonly clock: Clock,
    private readonly onDigit: (event: DtmfDigitEvent) => void,
  ) {
    this.legs = { a: new LegMedia("a", options.a), b: new LegMedia("b", options.b) };
    this.wallOffset = clock.wallNow() - clock.now();
  }

  /** Applies a leg's options; the DTMF mode applies at once, SRTP from its next offer or answer. */
  setOptions(leg: LegName, options: LegMediaOptions): void {
    this.legs[leg].options = options;
    this.rebuild();
  }

  /**
   * Reads an offer from `from`: its codecs, and its crypto under the leg's SRTP mode. Throws the
   * typed 488 failures (MEDIA_SRTP_REQUIRED, MEDIA_SRTP_UNSUPPORTED).
   */
  readOffer(from: LegName, info: StreamInfo, m: MediaDescription): void {
    const leg = this.legs[from];
    const mode = leg.options.srtp;
    const crypto = mode === "off" ? undefined : usableCrypto(m);
    const secure = isSecure(m.protocol);
    if (secure && mode === "off") throw new MediaRelayError("MEDIA_SRTP_UNSUPPORTED", `leg ${from}: RTP/SAVP offered but SRTP is off for this trunk`, { warnCode: 302 });
    if (secure && crypto === undefined) throw new MediaRelayError("MEDIA_SRTP_UNSUPPORTED", `leg ${from}: RTP/SAVP without a supported crypto suite (${SUITES.join(", ")})`, { warnCode: 302 });
    if (crypto === undefined && mode === "required") throw new MediaRelayError("MEDIA_SRTP_REQUIRED", `leg ${from}: SRTP required but no usable a=crypto offered`, { warnCode: 302 });
    this.offerer = from;
    leg.offeredProtocol = m.protocol;
    leg.setCodecs(info.codecs);
    if (crypto === undefined) {
      leg.pendingAnswer = undefined;
      leg.plain();
      return;
    }
    // Both keys work from now on: early media may flow before our answer reaches the offerer,
    // and it must leave encrypted with the key that answer will carry.
    leg.setRecv(crypto.profile, crypto.key);
    leg.setSend(crypto.profile);
    leg.pendingAnswer = { tag: crypto.tag, profile: crypto.profile };
  }

  /** The offer stream for `to`: its profile and our crypto lines follow `to`'s SRTP mode. */
  offerFor(to: LegName, m: MediaDescription): MediaDescription {
    const leg = this.legs[to];
    const from = this.legs[to === "a" ? "b" : "a"];
    const mode = leg.options.srtp;
    const useSrtp = mode === "required" || (mode === "optional" && from.pendingAnswer !== undefined);
    const base = withoutCrypto(m);
    if (!useSrtp) {
      leg.offeredSuites = undefined;
      return { ...base, protocol: plainProtocol(m.protocol) };
    }
    const suites = new Map<number, SrtpProfile>();
    const lines = SUITES.map((profile, i) => {
      suites.set(i + 1, profile);
      return attribute("crypto", formatCrypto(sdesCryptoAttribute(i + 1, profile, leg.ownKey(profile))));
    });
    leg.offeredSuites = suites;
    return { ...base, protocol: secureProtocol(m.protocol), attributes: [...base.attributes, ...lines] };
  }

  /** Reads the answer from `from` (the leg we offered to): its codecs and the suite it chose. */
  readAnswer(from: LegName, info: StreamInfo, m: MediaDescription): void {
    const leg = this.legs[from];
    leg.setCodecs(info.codecs);
    const offered = leg.offeredSuites;
    const crypto = offered === undefined ? undefined : usableCrypto(m);
    const chosen = crypto === undefined ? undefined : offered?.get(crypto.tag);
    if (crypto !== undefined && chosen === crypto.profile) {
      leg.setRecv(crypto.profile, crypto.key);
      leg.setSend(crypto.profile);
    } else if (offered !== undefined) {
      // We offered RTP/SAVP (RFC 4568 7.1.2): an answer without a matching crypto line cannot be used.
      throw new MediaRelayError("MEDIA_SRTP_REQUIRED", `leg ${from}: answer has no a=crypto matching our offer`, { warnCode: 302 });
    } else {
      leg.plain();
    }
    this.rebuild();
  }

  /** The answer stream for the offerer `to`: its own protocol, and our key under the suite it offered. */
  answerFor(to: LegName, m: MediaDescription): MediaDescription {
    const leg = this.legs[to];
    const base = withoutCrypto(m);
    const pending = leg.pendingAnswer;
    if (pending === undefined) return { ...base, protocol: leg.offeredProtocol };
    leg.setSend(pending.profile);
    const line: CryptoAttribute = sdesCryptoAttribute(pending.tag, pending.profile, leg.ownKey(pending.profile));
    return { ...base, protocol: leg.offeredProtocol, attributes: [...base.attributes, attribute("crypto", formatCrypto(line))] };
  }

  /** After our answer to the offerer: what it will send and receive are the codecs of that answer. */
  answeredOfferer(to: LegName, m: MediaDescription): void {
    // The offerer sends with the numbers of its offer; it receives what the answer names.
    const leg = this.legs[to];
    const answered = codecsOf(m);
    const merged = [...answered, ...leg.codecs.filter((c) => !answered.some((x) => x.payloadType === c.payloadType))];
    leg.setCodecs(merged);
    this.rebuild();
  }

  /** Recomputes both directions' payload type actions from the legs' codecs and DTMF modes. */
  private rebuild(): void {
    this.build(this.legs.a, this.legs.b);
    this.build(this.legs.b, this.legs.a);
  }

  private build(from: LegMedia, to: LegMedia): void {
    to.action.fill(PASS);
    if (from.codecs.length === 0 || to.codecs.length === 0) return;
    for (let pt = 0; pt < PT_COUNT; pt++) {
      const c = from.byPt[pt];
      if (c === undefined) continue;
      if (c === from.telephoneEvent) {
        to.action[pt] = EVENT;
        continue;
      }
      const same = to.codecs.find((x) => x.name.toLowerCase() === c.name.toLowerCase() && x.clockRate === c.clockRate);
      if (same !== undefined) {
        to.action[pt] = same.payloadType === pt ? PASS : REMAP;
        to.targetPt[pt] = same.payloadType;
        continue;
      }
      const law = g711LawOf(c);
      const other = law === undefined ? undefined : to.codecs.find((x) => g711LawOf(x) === otherLaw(law));
      if (law !== undefined && other !== undefined) {
        to.action[pt] = TRANSCODE;
        to.targetPt[pt] = other.payloadType;
        to.fromLaw[pt] = law;
        to.toLaw[pt] = otherLaw(law);
        continue;
      }
      // Comfort noise or a codec the other leg never agreed to: sending it would only confuse it.
      to.action[pt] = DROP;
    }
  }

  /** The offering leg of the last offer, if any. */
  get lastOfferer(): LegName | undefined {
    return this.offerer;
  }

  /** Hot path: SRTP/SRTCP removal, DTMF detection and RTCP reading for a packet from `legName`. */
  inbound(legName: LegName, channel: Channel, packet: Buffer, arrivalMs: number): Buffer | ProcessorDrop {
    const leg = this.legs[legName];
    if (channel === "rtp") {
      let p = packet;
      if (leg.recv !== undefined) {
        const r = leg.recv.unprotectRtp(packet, packet);
        if (!r.ok) return "srtp";
        p = packet.subarray(0, r.value);
      }
      const pt = readRtpPayloadType(p);
      if (leg.telephoneEvent !== undefined && pt === leg.telephoneEvent.payloadType) this.detect(leg, p);
      leg.remoteSsrc = readRtpSsrc(p);
      return p;
    }
    let p = packet;
    if (leg.recv !== undefined) {
      const r = leg.recv.unprotectRtcp(packet, packet);
      if (!r.ok) return "srtp";
      p = packet.subarray(0, r.value);
    }
    this.readRtcp(leg, p, arrivalMs);
    return p;
  }

  /**
   * Payload types from `fromName` that inbound and outbound would leave untouched, so the native
   * I/O may forward them without JavaScript: none while either side does SRTP, while the stream
   * is rewritten (transcoding, DTMF interworking) or while sequence numbers are shifted around
   * injected events; otherwise the types passed as they are, except telephone-event (digits are
   * detected and logged here).
   */
  passThrough(fromName: LegName): Uint8Array | undefined {
    const from = this.legs[fromName];
    const to = this.legs[fromName === "a" ? "b" : "a"];
    if (from.recv !== undefined || to.send !== undefined || to.offeredSuites !== undefined) return undefined;
    if (to.seqOffset !== 0 || to.toneUntil > 0 || this.rewriting()) return undefined;
    const flags = new Uint8Array(PT_COUNT);
    const event = from.telephoneEvent?.payloadType;
    for (let pt = 0; pt < PT_COUNT; pt++) flags[pt] = to.action[pt] === PASS && pt !== event ? 1 : 0;
    return flags;
  }

  /** The native path forwarded packets towards `toName`: continue the sequence from its last one. */
  forwardedNatively(toName: LegName, last: { readonly ssrc: number; readonly seq: number; readonly timestamp: number; readonly atMs: number }): void {
    const to = this.legs[toName];
    if (to.ssrc !== undefined && to.lastAt > last.atMs) return;
    to.ssrc = last.ssrc;
    to.lastSeq = last.seq;
    to.lastTimestamp = last.timestamp;
    to.lastAt = last.atMs;
    to.seqOffset = 0;
  }

  /** Hot path: payload type mapping, transcoding, event policy and SRTP for a packet towards `toName`. */
  outbound(toName: LegName, channel: Channel, packet: Buffer): Buffer | ProcessorDrop {
    const to = this.legs[toName];
    if (channel === "rtp") {
      const pt = readRtpPayloadType(packet);
      switch (to.action[pt]) {
        case REMAP:
          writeRtpPayloadType(packet, to.targetPt[pt]!);
          break;
        case TRANSCODE:
          if (!transcodeRtpPacketG711(packet, to.fromLaw[pt]!, to.toLaw[pt]!, { from: pt, to: to.targetPt[pt]! })) return "filtered";
          break;
        case EVENT: {
          if (to.options.dtmf === "inband") {
            const tone = this.tone(to, packet);
            if (typeof tone === "string") return tone;
            packet = tone;
            break;
          }
          const te = to.telephoneEvent;
          if (to.options.dtmf !== "rfc4733" || te === undefined) return this.skip(to, packet);
          writeRtpPayloadType(packet, te.payloadType);
          break;
        }
        case DROP:
          return this.skip(to, packet);
        default:
          break;
      }
      // While a tone plays in place of the events, the sender's own audio would only garble it.
      if (to.toneUntil > 0 && to.action[pt] !== EVENT) {
        if (this.clock.now() < to.toneUntil) return this.skip(to, packet);
        to.toneUntil = 0;
      }
      if (to.send === undefined && to.offeredSuites !== undefined) return "filtered"; // SRTP offered, not yet answered: never send in the clear
      this.track(to, packet);
      if (to.send === undefined) return packet;
      // Node sends asynchronously and keeps the buffer, so the grown packet cannot share a scratch buffer.
      const out = Buffer.allocUnsafe(packet.length + to.send.tagSize);
      const r = to.send.protectRtp(packet, out);
      return r.ok ? out : "filtered";
    }
    // A rewritten stream's RTCP would describe packets the other leg never got as sent; ours replaces it.
    if (this.rewriting()) return "filtered";
    return this.sealRtcp(to, packet);
  }

  private sealRtcp(to: LegMedia, packet: Buffer): Buffer | ProcessorDrop {
    if (to.send === undefined) return to.offeredSuites === undefined ? packet : "filtered";
    const out = Buffer.allocUnsafe(packet.length + SRTCP_OVERHEAD);
    const r = to.send.protectRtcp(packet, out);
    return r.ok ? out : "filtered";
  }

  /**
   * True when the relay changes the media between the legs: G.711 transcoding, or DTMF
   * interworking (events withheld for SIP INFO or played as tones, sequence numbers closed up).
   * RFC 3550 7.1: a translator that transforms the payload "MUST NOT simply forward RTCP
   * packets", so the relay terminates RTCP and sends its own reports (ownRtcp) to each leg. SRTP
   * termination alone changes no RTP data (same SSRC, numbers and payload in the clear), so its
   * RTCP is still forwarded, decrypted and re-protected.
   */
  rewriting(): boolean {
    const { a, b } = this.legs;
    return a.options.dtmf !== b.options.dtmf || a.action.includes(TRANSCODE) || b.action.includes(TRANSCODE);
  }

  /**
   * The relay's own RTCP compound for leg `toName` (RFC 3550 6.1: SR or RR, then SDES CNAME),
   * protected when the leg uses SRTP: an SR for the stream we send it, with a report block on the
   * stream it sends us from `received` (LSR/DLSR from its last SR). The SR is remembered so the
   * leg's next report gives the round trip. Undefined when there is nothing to report yet.
   */
  ownRtcp(toName: LegName, received: ReceiveStats | undefined, nowMs: number, wallMs: number): Buffer | undefined {
    const to = this.legs[toName];
    const blocks: ReceptionReport[] = [];
    if (received !== undefined && to.remoteSsrc !== undefined) {
      const block = received.receptionReport(to.remoteSsrc, nowMs);
      const dlsr = to.lastSrLsr === 0 ? 0 : Math.max(0, Math.round(((nowMs - to.lastSrAt) * 65536) / 1000));
      blocks.push({ ...block, lastSenderReport: to.lastSrLsr, delaySinceLastSenderReport: dlsr >>> 0 });
    }
    const sending = to.sendStats !== undefined && to.ssrc !== undefined;
    if (!sending && blocks.length === 0) return undefined;
    const ssrc = sending ? to.ssrc! : to.ownSsrc;
    const report: RtcpPacket = sending
      ? to.sendStats!.senderReport(ssrc, wallMs, blocks)
      : { kind: "rr", ssrc, reports: blocks, profileExtension: new Uint8Array(0) };
    if (report.kind === "sr") {
      to.srLsr[to.srNext] = ntpMiddle32(report.ntpMsw, report.ntpLsw);
      to.srAt[to.srNext] = nowMs;
      to.srNext = (to.srNext + 1) % SR_RING;
    }
    const packets: RtcpPacket[] = [report, { kind: "sdes", chunks: [{ source: ssrc, items: [{ type: SDES_CNAME, text: `trunkline-${to.ownSsrc.toString(16)}` }] }] }];
    const clear = Buffer.alloc(rtcpCompoundSize(packets));
    if (marshalRtcpCompound(packets, clear) < 0) return undefined;
    const out = this.sealRtcp(to, clear);
    return typeof out === "string" ? undefined : out;
  }

  /**
   * Replaces one event packet with G.711 audio of the event's two frequencies, covering the
   * stretch of duration this packet adds (RFC 4733 2.5.1.2: duration grows with each update).
   */
  private tone(to: LegMedia, packet: Buffer): Buffer | ProcessorDrop {
    const main = mainCodec(to.codecs);
    const law = main === undefined ? undefined : g711LawOf(main);
    const offset = rtpPayloadOffset(packet);
    if (law === undefined || main === undefined || offset < 0) return this.skip(to, packet);
    const e = parseDtmfEvent(packet.subarray(offset));
    if (!e.ok || e.value.event >= DTMF_LOW.length) return this.skip(to, packet);
    const timestamp = readRtpTimestamp(packet);
    if (timestamp !== to.toneTimestamp) {
      to.toneTimestamp = timestamp;
      to.toneSamples = 0;
    }
    to.toneUntil = e.value.end ? 0 : this.clock.now() + TONE_GUARD_MS;
    const n = Math.min(e.value.duration - to.toneSamples, MAX_TONE_SAMPLES);
    // Retransmitted end packets add no duration: nothing more to play.
    if (n <= 0) return this.skip(to, packet);
    const out = Buffer.alloc(RTP_FIXED_HEADER_SIZE + n);
    out[0] = 0x80;
    out[1] = main.payloadType;
    out.writeUInt16BE(readRtpSequenceNumber(packet), 2);
    out.writeUInt32BE((timestamp + to.toneSamples) >>> 0, 4);
    out.writeUInt32BE(readRtpSsrc(packet), 8);
    const w1 = (2 * Math.PI * DTMF_LOW[e.value.event]!) / TONE_RATE;
    const w2 = (2 * Math.PI * DTMF_HIGH[e.value.event]!) / TONE_RATE;
    const encode = law === "PCMU" ? encodeUlaw : encodeAlaw;
    for (let i = 0; i < n; i++) {
      const k = to.toneSamples + i;
      out[RTP_FIXED_HEADER_SIZE + i] = encode(Math.round(TONE_AMPLITUDE * (Math.sin(w1 * k) + Math.sin(w2 * k))));
    }
    to.toneSamples += n;
    return out;
  }

  // A packet withheld from a stream must not read as loss at the far end: later ones move up.
  private skip(to: LegMedia, packet: Buffer): ProcessorDrop {
    if (readRtpSsrc(packet) === to.ssrc) to.seqOffset = (to.seqOffset - 1) & 0xffff;
    return "filtered";
  }

  // Keeps the outgoing sequence numbers continuous around injected event packets.
  private track(to: LegMedia, packet: Buffer): void {
    const ssrc = readRtpSsrc(packet);
    if (ssrc !== to.ssrc) {
      to.ssrc = ssrc;
      to.seqOffset = 0;
    }
    const seq = (readRtpSequenceNumber(packet) + to.seqOffset) & 0xffff;
    if (to.seqOffset !== 0) writeRtpSequenceNumber(packet, seq);
    to.lastSeq = seq;
    to.lastTimestamp = readRtpTimestamp(packet);
    to.lastAt = this.clock.now();
    // Wall time from the monotonic reading already taken: no second clock read per packet.
    (to.sendStats ??= new SendStats({ clockRate: mainCodec(to.codecs)?.clockRate ?? 8000 })).onPacketSent(to.lastTimestamp, packet.length - RTP_FIXED_HEADER_SIZE, to.lastAt + this.wallOffset);
  }

  private detect(leg: LegMedia, packet: Buffer): void {
    const offset = rtpPayloadOffset(packet);
    if (offset < 0) return;
    const e = parseDtmfEvent(packet.subarray(offset));
    if (!e.ok) return;
    const te = leg.telephoneEvent!;
    const other = this.legs[leg.name === "a" ? "b" : "a"];
    for (const d of leg.dtmf.push(readRtpTimestamp(packet), e.value)) {
      if (d.digit === undefined) continue;
      this.onDigit({
        type: "dtmf",
        digit: d.digit,
        durationMs: Math.round((d.duration * 1000) / te.clockRate),
        fromLeg: leg.name,
        relayed:
          other.options.dtmf === "inband"
            ? mainCodec(other.codecs) !== undefined && g711LawOf(mainCodec(other.codecs)!) !== undefined
            : other.options.dtmf === "rfc4733" && other.telephoneEvent !== undefined,
      });
    }
  }

  private readRtcp(from: LegMedia, packet: Buffer, arrivalMs: number): void {
    const parsed = parseRtcpCompound(packet);
    if (!parsed.ok) return;
    const to = this.legs[from.name === "a" ? "b" : "a"];
    for (const p of parsed.value) {
      if (p.kind === "sr") {
        from.lastSrLsr = ntpMiddle32(p.ntpMsw, p.ntpLsw);
        from.lastSrAt = arrivalMs;
        to.srLsr[to.srNext] = ntpMiddle32(p.ntpMsw, p.ntpLsw);
        to.srAt[to.srNext] = arrivalMs;
        to.srNext = (to.srNext + 1) % SR_RING;
      }
      if (p.kind !== "sr" && p.kind !== "rr") continue;
      for (const block of p.reports) {
        from.report = block;
        if (block.lastSenderReport === 0) continue;
        // RFC 3550 6.4.1 with the relay's own clock: the SR left the relay at srAt, the report
        // came back now, and the endpoint held it DLSR; the difference is the relay<->endpoint round trip.
        for (let i = 0; i < SR_RING; i++) {
          if (from.srLsr[i] !== block.lastSenderReport) continue;
          const rtt = arrivalMs - from.srAt[i]! - (block.delaySinceLastSenderReport * 1000) / 65536;
          if (rtt >= 0) from.rttMs = rtt;
          break;
        }
      }
    }
  }

  /**
   * The RFC 4733 packets for one digit towards `to`, numbered after the stream already flowing
   * there, each protected when that leg uses SRTP; built one at a time by `next()` so audio
   * forwarded meanwhile keeps its place in the numbering. Undefined when `to` has no telephone-event.
   */
  dtmfSender(toName: LegName, digit: string, durationMs: number): { readonly count: number; next(): Buffer } | undefined {
    const to = this.legs[toName];
    const te = to.telephoneEvent;
    const event = dtmfEventCode(digit);
    if (te === undefined || event === undefined) return undefined;
    const rate = te.clockRate;
    const now = this.clock.now();
    if (to.ssrc === undefined) {
      to.ssrc = randomInt(0, 0x100000000);
      to.lastSeq = randomInt(0, 0x10000);
      to.lastTimestamp = randomInt(0, 0x100000000);
      to.lastAt = now;
    }
    const ssrc = to.ssrc;
    const timestamp = (to.lastTimestamp + Math.round(((now - to.lastAt) * rate) / 1000)) >>> 0;
    const plan = dtmfPacketSequence({ event, timestamp, duration: Math.round((durationMs * rate) / 1000), packetInterval: rate / 50 });
    let i = 0;
    return {
      count: plan.length,
      next: () => {
        const step = plan[Math.min(i++, plan.length - 1)]!;
        const seq = (to.lastSeq + 1) & 0xffff;
        to.lastSeq = seq;
        to.seqOffset = (to.seqOffset + 1) & 0xffff;
        const packet = Buffer.alloc(RTP_FIXED_HEADER_SIZE + DTMF_EVENT_SIZE);
        packet[0] = 0x80;
        packet[1] = (step.marker ? 0x80 : 0) | te.payloadType;
        packet.writeUInt16BE(seq, 2);
        packet.writeUInt32BE(step.timestamp, 4);
        packet.writeUInt32BE(ssrc >>> 0, 8);
        marshalDtmfEvent(step.payload, packet, RTP_FIXED_HEADER_SIZE);
        if (to.send === undefined) return packet;
        const out = Buffer.allocUnsafe(packet.length + to.send.tagSize);
        const r = to.send.protectRtp(packet, out);
        return r.ok ? out : packet;
      },
    };
  }

  /** Quality of one leg: receive statistics from `received`, the rest from this stream's RTCP. */
  quality(
    legName: LegName,
    received: { packets: number; bytes: number; lost: number; lossPercent: number; outOfOrder: number; duplicates: number; jitterMs: number } | undefined,
    sent: { packets: number; bytes: number },
  ): LegQuality {
    const leg = this.legs[legName];
    const main = mainCodec(leg.codecs);
    const model: EModelCodec | undefined = main === undefined ? undefined : eModelCodecOf(main.name);
    const rate = main?.clockRate ?? 8000;
    const mos = (lossPercent: number, jitterMs: number, packets: number): number | undefined =>
      model === undefined || packets === 0 ? undefined : Math.round(mosFromEModel({ codec: model, lossPercent, jitterMs, rttMs: leg.rttMs ?? 0 }).mos * 100) / 100;
    const report = leg.report;
    const sentLost = report?.cumulativeLost;
    const sentJitter = report === undefined ? undefined : (report.jitter * 1000) / rate;
    const sentLossPercent = report === undefined ? 0 : (report.fractionLost * 100) / 256;
    return {
      codec: main?.name,
      srtp: leg.recv !== undefined || leg.send !== undefined,
      received: {
        packets: received?.packets ?? 0,
        bytes: received?.bytes ?? 0,
        lost: received?.lost ?? 0,
        outOfOrder: received?.outOfOrder ?? 0,
        duplicates: received?.duplicates ?? 0,
        jitterMs: received?.jitterMs ?? 0,
        rttMs: leg.rttMs,
        mos: received === undefined ? undefined : mos(received.lossPercent, received.jitterMs, received.packets),
      },
      sent: {
        packets: sent.packets,
        bytes: sent.bytes,
        lost: sentLost,
        outOfOrder: undefined,
        duplicates: undefined,
        jitterMs: sentJitter,
        rttMs: leg.rttMs,
        mos: report === undefined ? undefined : mos(sentLossPercent, sentJitter ?? 0, sent.packets),
      },
    };
  }
}
