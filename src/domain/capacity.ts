// Capacity planning: channels a trunk needs for its busy-hour traffic (Erlang B), and the RTP
// bandwidth those channels take per codec. Pure: figures in, figures out.
import type { TrunkLimits } from "./types.ts";

/**
 * Erlang B (Erlang's loss formula): the probability that a call offered to `channels` circuits
 * carrying `trafficErlangs` of Poisson traffic finds them all busy and is lost.
 *
 * Computed with the recursion B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)), which never forms
 * A^n or n! and so neither overflows nor loses precision for thousands of channels.
 * Throws RangeError on negative or non-finite traffic, or a channel count that is not a whole number ≥ 0.
 */
export function erlangB(trafficErlangs: number, channels: number): number {
  checkTraffic(trafficErlangs);
  if (!Number.isSafeInteger(channels) || channels < 0) throw new RangeError(`channels must be a whole number >= 0, got ${channels}`);
  let b = 1;
  for (let n = 1; n <= channels; n++) b = (trafficErlangs * b) / (n + trafficErlangs * b);
  return b;
}

/**
 * The fewest channels whose Erlang B blocking for `trafficErlangs` is at most `blocking`
 * (e.g. 10 erlangs at 0.01 needs 18 channels). No traffic needs no channels.
 * Throws RangeError unless 0 < blocking < 1 and the traffic is finite and ≥ 0.
 */
export function channelsFor(trafficErlangs: number, blocking: number): number {
  checkTraffic(trafficErlangs);
  checkBlocking(blocking);
  if (trafficErlangs === 0) return 0;
  // B(n) falls strictly towards 0 as n grows, so this ends; for A erlangs it stops near A + k·√A.
  let b = 1;
  let n = 0;
  while (b > blocking) {
    n++;
    b = (trafficErlangs * b) / (n + trafficErlangs * b);
  }
  return n;
}

/** Offered traffic in erlangs: calls in the busy hour × mean holding time in hours. */
export function offeredTraffic(callsInBusyHour: number, meanDurationSeconds: number): number {
  if (!Number.isFinite(callsInBusyHour) || callsInBusyHour < 0) throw new RangeError(`calls must be >= 0, got ${callsInBusyHour}`);
  if (!Number.isFinite(meanDurationSeconds) || meanDurationSeconds < 0) throw new RangeError(`mean duration must be >= 0 s, got ${meanDurationSeconds}`);
  return (callsInBusyHour * meanDurationSeconds) / 3600;
}

function checkTraffic(a: number): void {
  if (!Number.isFinite(a) || a < 0) throw new RangeError(`traffic must be a finite number of erlangs >= 0, got ${a}`);
}

function checkBlocking(p: number): void {
  if (!(p > 0 && p < 1)) throw new RangeError(`blocking must be a probability between 0 and 1 (exclusive), got ${p}`);
}

// ---------------------------------------------------------------------------------------------
// Busy hour from call records

/** What the busy-hour method needs of a call detail record. */
export interface CallUsage {
  /** Epoch milliseconds the call started. */
  readonly startedAt: number;
  /** Answered time in milliseconds; 0 for a call never answered. */
  readonly durationMs: number;
  /** The trunks the call used (its customer and/or carrier). */
  readonly trunkIds: readonly string[];
}

/** The busiest clock hour of one trunk. */
export interface BusyHour {
  readonly trunkId: string;
  /** Epoch milliseconds of the start of the hour (UTC, on the hour). */
  readonly hourStart: number;
  /** Answered calls that started in that hour. */
  readonly calls: number;
  readonly meanDurationSeconds: number;
  /** calls × mean duration / 3600 s. */
  readonly trafficErlangs: number;
}

export interface BusyHourOptions {
  /** Count only calls with startedAt >= from (epoch ms). */
  readonly from?: number;
  /** Count only calls with startedAt < to (epoch ms). */
  readonly to?: number;
}

const HOUR_MS = 3_600_000;

/**
 * The busy hour of every trunk over the records given.
 *
 * Method: each answered call (durationMs > 0) counts, with its whole answered duration, in the UTC
 * clock hour in which it started, once for each of its trunks. A trunk's traffic in an hour is the
 * sum of those durations / 3600 s, i.e. calls in the hour × mean holding time, the same quantity
 * `offeredTraffic` computes. The busy hour is the hour with the most traffic (the earliest on a tie),
 * chosen per trunk, so two trunks may peak at different hours.
 *
 * What it does not see: calls that were refused or not answered hold no channel in the records, so
 * traffic already blocked by a too-small limit is missing; the figure is carried traffic, a lower
 * bound of the offered traffic. A call longer than an hour counts entirely in its first hour.
 *
 * Result sorted by trunk id; trunks with no answered call are absent.
 */
export function busyHourFromCdrs(records: Iterable<CallUsage>, options: BusyHourOptions = {}): BusyHour[] {
  const from = options.from ?? -Infinity;
  const to = options.to ?? Infinity;
  // trunk -> hour start -> [calls, total ms]
  const hours = new Map<string, Map<number, [number, number]>>();
  for (const r of records) {
    if (!(r.durationMs > 0) || r.startedAt < from || r.startedAt >= to) continue;
    const hour = Math.floor(r.startedAt / HOUR_MS) * HOUR_MS;
    for (const trunkId of new Set(r.trunkIds)) {
      let perHour = hours.get(trunkId);
      if (perHour === undefined) hours.set(trunkId, (perHour = new Map()));
      const cell = perHour.get(hour);
      if (cell === undefined) perHour.set(hour, [1, r.durationMs]);
      else {
        cell[0] += 1;
        cell[1] += r.durationMs;
      }
    }
  }
  const out: BusyHour[] = [];
  for (const [trunkId, perHour] of hours) {
    let best: { hour: number; calls: number; ms: number } | undefined;
    for (const [hour, [calls, ms]] of perHour) {
      if (best === undefined || ms > best.ms || (ms === best.ms && hour < best.hour)) best = { hour, calls, ms };
    }
    if (best === undefined) continue;
    out.push({
      trunkId,
      hourStart: best.hour,
      calls: best.calls,
      meanDurationSeconds: best.ms / best.calls / 1000,
      trafficErlangs: best.ms / HOUR_MS,
    });
  }
  return out.sort((a, b) => (a.trunkId < b.trunkId ? -1 : a.trunkId > b.trunkId ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Bandwidth

/** Codecs the planner knows. */
export type PlanCodec = "G711" | "G722" | "G729" | "opus";
export const PLAN_CODECS = ["G711", "G722", "G729", "opus"] as const satisfies readonly PlanCodec[];

/** Payload bit rate and the frame the packetization interval must be a multiple of. */
export interface CodecRate {
  /** Payload bits per second, one direction, before any header. */
  readonly payloadBitsPerSecond: number;
  /** Packetization must be a whole number of these milliseconds. */
  readonly frameMs: number;
}

/**
 * Payload rates:
 * - G.711 (PCMU/PCMA, ITU-T G.711): 8000 samples/s × 8 bits = 64 kbit/s; sample-based, any whole ms.
 * - G.722 (ITU-T G.722, mode 1): 64 kbit/s (16 kHz sampling, 8000 bytes/s on the wire although its
 *   RTP clock is 8000 Hz per RFC 3551); any whole ms.
 * - G.729 (ITU-T G.729/A/B, no VAD): 8 kbit/s in 10 ms frames of 10 bytes.
 * - Opus (RFC 6716/7587): variable; planned at 32 kbit/s, a common constant rate for wideband
 *   voice (set `maxaveragebitrate` accordingly), in multiples of 10 ms up to 120 ms.
 */
export const CODEC_RATES: Readonly<Record<PlanCodec, CodecRate>> = {
  G711: { payloadBitsPerSecond: 64_000, frameMs: 1 },
  G722: { payloadBitsPerSecond: 64_000, frameMs: 1 },
  G729: { payloadBitsPerSecond: 8_000, frameMs: 10 },
  opus: { payloadBitsPerSecond: 32_000, frameMs: 10 },
};

/** Bytes of header per packet: IPv4 (20, no options) + UDP (8) + RTP (12, no CSRC or extension). */
export const IP_UDP_RTP_BYTES = 20 + 8 + 12;
/**
 * Ethernet II layer-2 bytes per frame: MAC header (14) + FCS (4). Without an 802.1Q tag (+4) and
 * without the preamble/SFD (8) and inter-frame gap (12) that occupy the wire but are not frame bytes.
 * This is the figure of the usual VoIP tables: G.711 at 20 ms = (160 + 40 + 18) × 8 × 50 = 87.2 kbit/s.
 */
export const ETHERNET_BYTES = 14 + 4;

/** Longest packetization accepted, in ms (Opus allows 120 ms packets; others rarely exceed it). */
export const MAX_PTIME_MS = 120;

/** What a bandwidth figure counts: IP packets (IPv4+UDP+RTP+payload) or Ethernet frames (those + 18 bytes). */
export type BandwidthLayer = "ip" | "ethernet";

export interface CallBandwidth {
  readonly codec: PlanCodec;
  readonly ptimeMs: number;
  readonly layer: BandwidthLayer;
  readonly payloadBytes: number;
  /** Payload + headers of the layer. */
  readonly packetBytes: number;
  readonly packetsPerSecond: number;
  /** One direction; a call uses this much each way. RTCP (usually under 5 %) is not included. */
  readonly bitsPerSecond: number;
}

/** Why a packetization interval does not fit a codec, or undefined when it does. */
export function ptimeError(codec: PlanCodec, ptimeMs: number): string | undefined {
  const { frameMs } = CODEC_RATES[codec];
  if (!Number.isSafeInteger(ptimeMs) || ptimeMs < frameMs || ptimeMs > MAX_PTIME_MS || ptimeMs % frameMs !== 0) {
    return frameMs === 1
      ? `ptime of ${codec} must be a whole number of ms from 1 to ${MAX_PTIME_MS}`
      : `ptime of ${codec} must be a multiple of ${frameMs} ms from ${frameMs} to ${MAX_PTIME_MS}`;
  }
  return undefined;
}

/**
 * The bandwidth of one call in one direction: payload per packet = rate × ptime, one packet per
 * ptime, each carrying the headers of the layer. Throws RangeError on a ptime the codec cannot use.
 */
export function bandwidthPerCall(codec: PlanCodec, ptimeMs: number, options: { readonly layer: BandwidthLayer }): CallBandwidth {
  const problem = ptimeError(codec, ptimeMs);
  if (problem !== undefined) throw new RangeError(problem);
  const payloadBytes = (CODEC_RATES[codec].payloadBitsPerSecond * ptimeMs) / 8000;
  const packetBytes = payloadBytes + IP_UDP_RTP_BYTES + (options.layer === "ethernet" ? ETHERNET_BYTES : 0);
  const packetsPerSecond = 1000 / ptimeMs;
  return { codec, ptimeMs, layer: options.layer, payloadBytes, packetBytes, packetsPerSecond, bitsPerSecond: packetBytes * 8 * packetsPerSecond };
}

// ---------------------------------------------------------------------------------------------
// One trunk's plan

/**
 * The most concurrent calls a trunk's limits allow in both directions together, or undefined when
 * unlimited: `channels`, or inbound + outbound when both are set, whichever is smaller.
 */
export function channelLimitOf(limits: TrunkLimits): number | undefined {
  const split = limits.inboundChannels !== undefined && limits.outboundChannels !== undefined ? limits.inboundChannels + limits.outboundChannels : undefined;
  if (limits.channels === undefined) return split;
  return split === undefined ? limits.channels : Math.min(limits.channels, split);
}

export interface TrunkPlanInput {
  readonly trafficErlangs: number;
  /** Target probability that a call is blocked, e.g. 0.01. */
  readonly blocking: number;
  readonly codec: PlanCodec;
  readonly ptimeMs: number;
  readonly layer: BandwidthLayer;
  /** The trunk's configured channel limit; undefined when unlimited. */
  readonly configuredChannels?: number | undefined;
}

export interface TrunkPlan {
  readonly trafficErlangs: number;
  readonly blocking: number;
  /** Channels needed for the target blocking. */
  readonly channels: number;
  /** Erlang B blocking at exactly `channels` (≤ the target). */
  readonly blockingAtChannels: number;
  readonly perCall: CallBandwidth;
  /** Bandwidth of `channels` calls, one direction (the same again in the other). */
  readonly bitsPerSecond: number;
  readonly configuredChannels: number | null;
  /** Erlang B blocking at the configured limit, null when unlimited. */
  readonly blockingAtConfigured: number | null;
  /** Set when the configured limit is below the channels needed. */
  readonly warning: string | null;
}

/** Channels and bandwidth for a trunk's busy-hour traffic, with a warning when its limit is too small. */
export function planTrunk(input: TrunkPlanInput): TrunkPlan {
  const channels = channelsFor(input.trafficErlangs, input.blocking);
  const perCall = bandwidthPerCall(input.codec, input.ptimeMs, { layer: input.layer });
  const configured = input.configuredChannels ?? null;
  const blockingAtConfigured = configured === null ? null : erlangB(input.trafficErlangs, configured);
  const warning =
    configured !== null && configured < channels
      ? `channel limit ${configured} is below the ${channels} needed for ${input.trafficErlangs.toFixed(2)} E at ${formatPercent(input.blocking)} blocking; ` +
        `about ${formatPercent(blockingAtConfigured ?? 1)} of busy-hour calls would be refused`
      : null;
  return {
    trafficErlangs: input.trafficErlangs,
    blocking: input.blocking,
    channels,
    blockingAtChannels: erlangB(input.trafficErlangs, channels),
    perCall,
    bitsPerSecond: channels * perCall.bitsPerSecond,
    configuredChannels: configured,
    blockingAtConfigured,
    warning,
  };
}

// ---------------------------------------------------------------------------------------------
// Every trunk's plan from call records (shared by `trunkline plan` and GET /api/v1/plan)

/** Target blocking, codec, packetization and bandwidth layer of a plan. */
export interface PlanSettings {
  readonly blocking: number;
  readonly codec: PlanCodec;
  readonly ptimeMs: number;
  readonly layer: BandwidthLayer;
}

/** A provisioned trunk to plan. */
export interface PlannedTrunk {
  readonly trunkId: string;
  readonly kind: "customer" | "carrier";
  readonly limits: TrunkLimits;
}

/** One trunk's line of a plan from call records. */
export interface TrunkPlanRow {
  readonly trunkId: string;
  /** `unprovisioned`: seen in the records but no longer provisioned. */
  readonly kind: "customer" | "carrier" | "unprovisioned";
  readonly busyHour: BusyHour | undefined;
  readonly plan: TrunkPlan;
}

/** What the plan needs of a call detail record (a CDR has these fields). */
export interface UsageRecord {
  readonly startedAt: number;
  readonly durationMs: number;
  readonly customerId: string | null;
  readonly carrierId: string | null;
}

/** A record's usage: its start, answered time and the trunks (customer and/or carrier) it held. */
export function callUsageOf(r: UsageRecord): CallUsage {
  const trunkIds: string[] = [];
  if (r.customerId !== null) trunkIds.push(r.customerId);
  if (r.carrierId !== null) trunkIds.push(r.carrierId);
  return { startedAt: r.startedAt, durationMs: r.durationMs, trunkIds };
}

/**
 * Plans every provisioned trunk, in the order given, then any trunk seen in the records but no
 * longer provisioned, from the busy hour of `usage` within [from, to): channels for the target
 * blocking, bandwidth, and a warning where the configured limit is below the need.
 */
export function planTrunksFromUsage(input: {
  readonly trunks: readonly PlannedTrunk[];
  readonly usage: Iterable<CallUsage>;
  readonly period: { readonly from: number; readonly to: number };
  readonly settings: PlanSettings;
}): TrunkPlanRow[] {
  const busy = new Map(busyHourFromCdrs(input.usage, input.period).map((b) => [b.trunkId, b]));
  const trunks: { trunkId: string; kind: TrunkPlanRow["kind"]; limit: number | undefined }[] = input.trunks.map((t) => ({
    trunkId: t.trunkId,
    kind: t.kind,
    limit: channelLimitOf(t.limits),
  }));
  const known = new Set(trunks.map((t) => t.trunkId));
  for (const id of busy.keys()) if (!known.has(id)) trunks.push({ trunkId: id, kind: "unprovisioned", limit: undefined });
  return trunks.map((t): TrunkPlanRow => {
    const busyHour = busy.get(t.trunkId);
    const plan = planTrunk({ ...input.settings, trafficErlangs: busyHour?.trafficErlangs ?? 0, configuredChannels: t.limit });
    return { trunkId: t.trunkId, kind: t.kind, busyHour, plan };
  });
}

/** 0.01 → "1%", 0.0025 → "0.25%", 0.0791 → "7.91%". */
export function formatPercent(p: number): string {
  return `${Number((p * 100).toPrecision(3))}%`;
}
