import type { ReceptionReport } from "./rtcp-receiver-report.ts";
import type { RtcpSenderReport } from "./rtcp-sender-report.ts";

/*
 * Receive-side statistics of one RTP stream (RFC 3550 appendix A) and a listening-quality
 * estimate from the ITU-T G.107 E-model. Updated per packet, so the per-packet path touches
 * only numbers and one preallocated ring.
 */

const SEQ_MOD = 0x10000;
// RFC 3550 A.1 defaults: a jump ahead under MAX_DROPOUT is a loss burst; a jump back under
// MAX_MISORDER is reordering; anything else is a restart confirmed by the next packet.
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
// How far back duplicates are told from late packets.
const HISTORY = 1024;
const JITTER_GAIN = 16;
const NTP_UNIX_OFFSET_S = 2208988800;
const TWO_32 = 0x100000000;

/** What onPacket made of one packet. */
export type PacketVerdict = "in-order" | "out-of-order" | "duplicate" | "bad-sequence" | "restart";

/** A point-in-time view of one direction's receive statistics. */
export interface ReceiveStatsSnapshot {
  /** Every packet seen, duplicates and discarded ones included. */
  readonly packets: number;
  readonly bytes: number;
  /** Packets expected from the extended sequence range (RFC 3550 A.3). */
  readonly expected: number;
  /** expected minus distinct packets received; duplicates do not hide losses. */
  readonly lost: number;
  readonly lossPercent: number;
  readonly outOfOrder: number;
  readonly duplicates: number;
  /** Extended highest sequence number (cycles * 65536 + seq). */
  readonly highestSequence: number;
  /** RFC 3550 A.8 interarrival jitter in timestamp units. */
  readonly jitter: number;
  readonly jitterMs: number;
  /** Last round-trip time measured from RTCP, if any. */
  readonly rttMs: number | undefined;
}

/** Options for ReceiveStats. */
export interface ReceiveStatsOptions {
  /** RTP clock rate of the stream's payload (8000 for G.711). */
  readonly clockRate: number;
}

/** Per-direction receive statistics: sequence tracking with wraparound, loss, reordering, duplicates, jitter, RTT. */
export class ReceiveStats {
  readonly clockRate: number;
  #packets = 0;
  #bytes = 0;
  #distinct = 0;
  #outOfOrder = 0;
  #duplicates = 0;
  #started = false;
  #baseSeq = 0;
  #maxSeq = 0;
  /** Shifted count of sequence number cycles (a multiple of 65536). */
  #cycles = 0;
  #badSeq = -1;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #lastTransit = Number.NaN;
  #jitter = 0;
  #rttMs: number | undefined;
  #lsr = 0;
  #lsrArrivalMs = 0;
  readonly #seen = new Uint8Array(HISTORY);

  constructor(options: ReceiveStatsOptions) {
    this.clockRate = options.clockRate;
  }

  #init(seq: number): void {
    this.#started = true;
    this.#baseSeq = seq;
    this.#maxSeq = seq;
    this.#cycles = 0;
    this.#badSeq = -1;
    this.#expectedPrior = 0;
    this.#receivedPrior = 0;
    this.#distinct = 0;
    this.#seen.fill(0);
    this.#lastTransit = Number.NaN;
  }

  /**
   * Accounts one RTP packet: its sequence number, RTP timestamp, arrival time (ms, any epoch)
   * and size. Follows RFC 3550 A.1 for sequence validation and A.8 for jitter.
   */
  onPacket(seq: number, rtpTimestamp: number, arrivalMs: number, bytes: number): PacketVerdict {
    this.#packets++;
    this.#bytes += bytes;
    let verdict: PacketVerdict = "in-order";
    if (!this.#started) {
      this.#init(seq);
      verdict = "restart";
    } else {
      const udelta = (seq - this.#maxSeq + SEQ_MOD) % SEQ_MOD;
      if (udelta === 0) {
        this.#duplicates++;
        return "duplicate";
      }
      if (udelta < MAX_DROPOUT) {
        if (seq < this.#maxSeq) this.#cycles += SEQ_MOD;
        this.#advance(seq);
      } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
        // A big jump: believe it only when the next packet follows it (the sender restarted).
        if (seq !== this.#badSeq) {
          this.#badSeq = (seq + 1) % SEQ_MOD;
          return "bad-sequence";
        }
        this.#init(seq);
        verdict = "restart";
      } else {
        // Behind the highest: late or duplicated; the ring remembers recent arrivals.
        const back = SEQ_MOD - udelta;
        const ext = this.#cycles + this.#maxSeq - back;
        if (ext < this.#baseSeq) {
          this.#outOfOrder++;
          return "out-of-order";
        }
        if (back < HISTORY && this.#seen[ext % HISTORY] === 1) {
          this.#duplicates++;
          return "duplicate";
        }
        if (back < HISTORY) this.#seen[ext % HISTORY] = 1;
        this.#outOfOrder++;
        verdict = "out-of-order";
      }
    }
    if (verdict !== "out-of-order") this.#seen[(this.#cycles + this.#maxSeq) % HISTORY] = 1;
    this.#distinct++;
    this.#updateJitter(rtpTimestamp, arrivalMs);
    return verdict;
  }

  #advance(seq: number): void {
    const oldExt = this.#cycles - (seq < this.#maxSeq ? SEQ_MOD : 0) + this.#maxSeq;
    const newExt = this.#cycles + seq;
    // Forget ring slots skipped over so they are not mistaken for received packets later.
    const gap = Math.min(newExt - oldExt - 1, HISTORY);
    for (let i = 1; i <= gap; i++) this.#seen[(oldExt + i) % HISTORY] = 0;
    this.#maxSeq = seq;
  }

  #updateJitter(rtpTimestamp: number, arrivalMs: number): void {
    const arrival = (arrivalMs * this.clockRate) / 1000;
    const transit = arrival - rtpTimestamp;
    if (!Number.isNaN(this.#lastTransit)) {
      let d = transit - this.#lastTransit;
      // The RTP timestamp wraps at 2^32; fold the difference back into one period.
      d = ((d % TWO_32) + TWO_32 + TWO_32 / 2) % TWO_32 - TWO_32 / 2;
      if (d < 0) d = -d;
      this.#jitter += (d - this.#jitter) / JITTER_GAIN;
    }
    this.#lastTransit = transit;
  }

  /** Extended highest sequence number received. */
  get highestSequence(): number {
    return this.#cycles + this.#maxSeq;
  }

  /** Packets expected so far (RFC 3550 A.3). */
  get expected(): number {
    return this.#started ? this.highestSequence - this.#baseSeq + 1 : 0;
  }

  /** Remembers an SR from the remote sender so the next report can carry LSR/DLSR. */
  onSenderReport(ntpMsw: number, ntpLsw: number, arrivalMs: number): void {
    this.#lsr = ntpMiddle32(ntpMsw, ntpLsw);
    this.#lsrArrivalMs = arrivalMs;
  }

  /** Records a round-trip time measured elsewhere (e.g. from rttFromReport). */
  setRtt(rttMs: number): void {
    this.#rttMs = rttMs;
  }

  /** Builds the report block about this stream, and starts a new interval for fraction lost (RFC 3550 A.3). */
  receptionReport(ssrc: number, nowMs: number): ReceptionReport {
    const expected = this.expected;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#distinct - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#distinct;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    const dlsr = this.#lsr === 0 ? 0 : Math.max(0, Math.round(((nowMs - this.#lsrArrivalMs) * 65536) / 1000));
    return {
      ssrc,
      fractionLost: Math.min(fractionLost, 255),
      cumulativeLost: expected - this.#distinct,
      highestSequence: this.highestSequence >>> 0,
      jitter: Math.floor(this.#jitter) >>> 0,
      lastSenderReport: this.#lsr,
      delaySinceLastSenderReport: dlsr >>> 0,
    };
  }

  /** The current statistics. */
  snapshot(): ReceiveStatsSnapshot {
    return receiveSnapshot(
      {
        packets: this.#packets,
        bytes: this.#bytes,
        expected: this.expected,
        distinct: this.#distinct,
        outOfOrder: this.#outOfOrder,
        duplicates: this.#duplicates,
        highestSequence: this.highestSequence,
        jitter: this.#jitter,
        clockRate: this.clockRate,
      },
      this.#rttMs,
    );
  }
}

/** The RFC 3550 receive counters a snapshot is derived from (ReceiveStats, or the native relay's copy of them). */
export interface ReceiveCounters {
  readonly packets: number;
  readonly bytes: number;
  readonly expected: number;
  /** Distinct sequence numbers received (duplicates counted once). */
  readonly distinct: number;
  readonly outOfOrder: number;
  readonly duplicates: number;
  readonly highestSequence: number;
  readonly jitter: number;
  readonly clockRate: number;
}

/** A snapshot from raw receive counters: loss and jitter in milliseconds derived the one way. */
export function receiveSnapshot(c: ReceiveCounters, rttMs: number | undefined): ReceiveStatsSnapshot {
  const lost = Math.max(0, c.expected - c.distinct);
  return {
    packets: c.packets,
    bytes: c.bytes,
    expected: c.expected,
    lost,
    lossPercent: c.expected === 0 ? 0 : (lost * 100) / c.expected,
    outOfOrder: c.outOfOrder,
    duplicates: c.duplicates,
    highestSequence: c.highestSequence,
    jitter: c.jitter,
    jitterMs: (c.jitter * 1000) / c.clockRate,
    rttMs,
  };
}

/**
 * Send-side counters of one outgoing stream, enough to write its RTCP sender reports
 * (RFC 3550 6.4.1) when the relay terminates RTCP instead of forwarding it.
 */
export class SendStats {
  readonly clockRate: number;
  #packets = 0;
  #octets = 0;
  #lastRtpTimestamp = 0;
  #lastSentMs = 0;

  constructor(options: ReceiveStatsOptions) {
    this.clockRate = options.clockRate;
  }

  /** Accounts one packet sent: its RTP timestamp, payload octets (header and padding excluded) and send time (Unix ms). */
  onPacketSent(rtpTimestamp: number, payloadOctets: number, nowMs: number): void {
    this.#packets++;
    this.#octets += payloadOctets;
    this.#lastRtpTimestamp = rtpTimestamp >>> 0;
    this.#lastSentMs = nowMs;
  }

  /**
   * A sender report for `nowMs` (Unix ms): the RTP timestamp is extrapolated from the last
   * packet so that it names the same instant as the NTP timestamp, as RFC 3550 6.4.1 asks.
   */
  senderReport(ssrc: number, nowMs: number, reports: readonly ReceptionReport[] = []): RtcpSenderReport {
    const ntp = ntpFromUnixMs(nowMs);
    const elapsed = Math.round(((nowMs - this.#lastSentMs) * this.clockRate) / 1000);
    return {
      kind: "sr",
      ssrc,
      ntpMsw: ntp.msw,
      ntpLsw: ntp.lsw,
      rtpTimestamp: (this.#lastRtpTimestamp + (this.#packets === 0 ? 0 : elapsed)) >>> 0,
      packetCount: this.#packets >>> 0,
      octetCount: this.#octets >>> 0,
      reports,
      profileExtension: new Uint8Array(0),
    };
  }
}

/** NTP timestamp (RFC 3550 4) for a Unix time in milliseconds. */
export function ntpFromUnixMs(ms: number): { msw: number; lsw: number } {
  const seconds = Math.floor(ms / 1000);
  const fraction = (ms - seconds * 1000) / 1000;
  return { msw: (seconds + NTP_UNIX_OFFSET_S) >>> 0, lsw: Math.floor(fraction * TWO_32) >>> 0 };
}

/** The middle 32 bits of an NTP timestamp, the unit of LSR and of RTT arithmetic (1/65536 s). */
export function ntpMiddle32(msw: number, lsw: number): number {
  return (((msw & 0xffff) << 16) | (lsw >>> 16)) >>> 0;
}

/** Middle 32 bits of the NTP time for a Unix time in ms: the `A` of the RTT formula. */
export function ntpMiddle32FromUnixMs(ms: number): number {
  const ntp = ntpFromUnixMs(ms);
  return ntpMiddle32(ntp.msw, ntp.lsw);
}

/**
 * Round-trip time in ms from a report block about our stream (RFC 3550 6.4.1):
 * RTT = A - LSR - DLSR, with A the middle 32 bits of the NTP time the report arrived.
 * Undefined when the peer has not yet received an SR from us.
 */
export function rttFromReport(
  block: Pick<ReceptionReport, "lastSenderReport" | "delaySinceLastSenderReport">,
  arrivalNtpMiddle32: number,
): number | undefined {
  if (block.lastSenderReport === 0) return undefined;
  const units = (arrivalNtpMiddle32 - block.lastSenderReport - block.delaySinceLastSenderReport) >>> 0;
  // A result in the upper half is a negative RTT from clock skew or a bogus block.
  if (units >= 0x80000000) return undefined;
  return (units * 1000) / 65536;
}

/** Codecs the E-model estimate knows; the wideband ones are placed on the narrowband R scale. */
export type EModelCodec = "PCMU" | "PCMA" | "G729" | "G722" | "opus";

/** The E-model codec for an SDP encoding name (case-insensitive), or undefined when unknown. */
export function eModelCodecOf(encodingName: string): EModelCodec | undefined {
  switch (encodingName.toUpperCase()) {
    case "PCMU":
      return "PCMU";
    case "PCMA":
      return "PCMA";
    case "G729":
      return "G729";
    case "G722":
      return "G722";
    case "OPUS":
      return "opus";
    default:
      return undefined;
  }
}

/** Equipment impairment Ie and packet-loss robustness Bpl of a codec. */
export interface CodecImpairment {
  readonly ie: number;
  readonly bpl: number;
}

/**
 * G.113 Appendix I values: G.711 with the PLC of G.711 Appendix I (Ie 0, Bpl 25.1), G.729A
 * with VAD (Ie 11, Bpl 19.0). G.722 and Opus have no narrowband entry; scoring them like G.711
 * with PLC is an approximation that at least never ranks them below it.
 */
export const CODEC_IMPAIRMENTS: Readonly<Record<EModelCodec, CodecImpairment>> = {
  PCMU: { ie: 0, bpl: 25.1 },
  PCMA: { ie: 0, bpl: 25.1 },
  G729: { ie: 11, bpl: 19.0 },
  G722: { ie: 0, bpl: 25.1 },
  opus: { ie: 0, bpl: 25.1 },
};

// G.107 default parameters, computed once: Ro = 15 - 1.5(SLR + No) = 94.77 and Is = 1.41,
// with TELR 65 dB and WEPL 110 dB for the talker- and listener-echo terms.
const R0 = 94.77;
const IS = 1.41;
const ROE = 88.77; // -1.5 (No + 2) with No = -61.18 dBm0p
const TELR = 65;
const WEPL = 110;

/** G.107 delay impairment Id = Idte + Idle + Idd for a mean one-way delay T = Ta (ms). */
export function delayImpairment(oneWayMs: number): number {
  const t = Math.max(0, oneWayMs);
  const terv = TELR - 40 * Math.log10((1 + t / 10) / (1 + t / 150)) + 6 * Math.exp(-0.3 * t * t);
  const re = 80 + 2.5 * (terv - 14);
  const idte = ((ROE - re) / 2 + Math.sqrt((ROE - re) ** 2 / 4 + 100) - 1) * (1 - Math.exp(-t));
  const rle = 10.5 * (WEPL + 7) * (2 * t + 1) ** -0.25;
  const idle = (R0 - rle) / 2 + Math.sqrt((R0 - rle) ** 2 / 4 + 169);
  let idd = 0;
  if (t > 100) {
    const x = Math.log10(t / 100) / Math.log10(2);
    idd = 25 * ((1 + x ** 6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2);
  }
  return idte + idle + idd;
}

/** G.107 effective equipment impairment Ie,eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl). */
export function effectiveEquipmentImpairment(codec: CodecImpairment, lossPercent: number, burstRatio = 1): number {
  const ppl = Math.max(0, Math.min(100, lossPercent));
  return codec.ie + ((95 - codec.ie) * ppl) / (ppl / burstRatio + codec.bpl);
}

/** G.107 Annex B: MOS (conversational quality estimate) for a rating R. */
export function mosFromR(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
}

/** Inputs of mosFromEModel(). */
export interface EModelInput {
  readonly codec: EModelCodec;
  readonly lossPercent: number;
  /** Interarrival jitter; a jitter buffer of twice this is assumed unless jitterBufferMs says otherwise. */
  readonly jitterMs: number;
  /** Network round trip; half of it counts as one-way delay. */
  readonly rttMs: number;
  readonly jitterBufferMs?: number;
  /** G.107 BurstR; 1 for random loss. */
  readonly burstRatio?: number;
}

/** An E-model result with its parts, for display and tests. */
export interface EModelScore {
  readonly r: number;
  readonly mos: number;
  readonly oneWayDelayMs: number;
  readonly delayImpairment: number;
  readonly equipmentImpairment: number;
}

/** ITU-T G.107 rating R (advantage factor A = 0) and its MOS from loss, jitter and RTT. */
export function mosFromEModel(input: EModelInput): EModelScore {
  const oneWay = Math.max(0, input.rttMs) / 2 + (input.jitterBufferMs ?? 2 * Math.max(0, input.jitterMs));
  const id = delayImpairment(oneWay);
  const ieEff = effectiveEquipmentImpairment(CODEC_IMPAIRMENTS[input.codec], input.lossPercent, input.burstRatio ?? 1);
  const r = R0 - IS - id - ieEff;
  return { r, mos: mosFromR(r), oneWayDelayMs: oneWay, delayImpairment: id, equipmentImpairment: ieEff };
}
