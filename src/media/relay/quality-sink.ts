import { type ReceiveStatsSnapshot, ReceiveStats, receiveSnapshot } from "../quality.ts";
import { readRtpPayloadType, readRtpSequenceNumber, readRtpTimestamp } from "../rtp-packet.ts";
import type { Channel, LegName, ReceiveStatsSink } from "./relay-session.ts";
import type { FastCounters } from "./udp-io.ts";

/** How the quality sink reads a stream. */
export interface QualitySinkOptions {
  /** RTP clock rate of the negotiated audio codec; default 8000 (G.711). */
  readonly clockRate?: number;
  /**
   * Payload types left out of loss and jitter: RFC 4733 events and comfort noise share the
   * sequence space but repeat timestamps, which would read as jitter.
   */
  readonly ignorePayloadTypes?: readonly number[];
}

/** A ReceiveStatsSink that keeps RFC 3550 receive statistics (quality.ts) per leg. */
export interface QualitySink extends ReceiveStatsSink {
  readonly clockRate: number;
  readonly ignorePayloadTypes: readonly number[];
  /** Statistics of what the leg's endpoint sent us, if it sent any RTP. */
  snapshot(leg: LegName): ReceiveStatsSnapshot | undefined;
  /** The live receive statistics of a leg (for the relay's own RTCP report blocks). */
  stats(leg: LegName): ReceiveStats | undefined;
}

/** The RFC 3550 counters the native path keeps (relay-session's nativeReceiveStats). */
export type NativeReceiveStats = FastCounters["rtp"];

/**
 * A sink whose snapshots come from the native receive statistics when a leg has any: with native
 * I/O those count every accepted packet, forwarded in C or in JavaScript, while the JS ones see
 * only the latter. The round trip still comes from the JS side, which reads the RTCP.
 */
export function withNativeStats(sink: QualitySink, native: (leg: LegName) => NativeReceiveStats | undefined): QualitySink {
  return {
    ...sink,
    snapshot(leg) {
      const js = sink.snapshot(leg);
      const n = native(leg);
      if (n === undefined || n.packets === 0) return js;
      return receiveSnapshot(n, js?.rttMs);
    },
  };
}

/** Creates a sink that feeds every accepted RTP packet of each leg into its own ReceiveStats. */
export function createQualitySink(options: QualitySinkOptions = {}): QualitySink {
  const clockRate = options.clockRate ?? 8000;
  const ignored = new Set(options.ignorePayloadTypes ?? []);
  const stats: Partial<Record<LegName, ReceiveStats>> = {};
  return {
    clockRate,
    ignorePayloadTypes: [...ignored],
    onPacket(leg: LegName, channel: Channel, packet: Buffer, arrivalMs: number): void {
      // The relay has already classified the packet as RTP, so the 12-octet fixed header is there.
      if (channel !== "rtp" || ignored.has(readRtpPayloadType(packet))) return;
      const s = (stats[leg] ??= new ReceiveStats({ clockRate }));
      s.onPacket(readRtpSequenceNumber(packet), readRtpTimestamp(packet), arrivalMs, packet.length);
    },
    snapshot: (leg) => stats[leg]?.snapshot(),
    stats: (leg) => stats[leg],
  };
}
