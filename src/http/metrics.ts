// The server's Prometheus series. Nothing here counts on the hot path: live values are read from
// the component that already keeps them (call layer, SIP stack counters, health, registrations,
// security guard) by a collect hook when /metrics is scraped, and per-call figures (result, media
// quality, fraud verdicts) are taken once from each call's final CDR as it is written.
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { ActiveCall, HealthSnapshot, RegistrationState, SecurityGuard } from "../call/index.ts";
import type { ChannelCounts } from "../domain/index.ts";
import type { MetricsRegistry } from "../observability/index.ts";
import type { CallDetailRecord, CdrRepository, MediaDirectionQuality } from "../ports/index.ts";

/** One direction of the wire: requests by method, responses by status then CSeq method. */
export interface WireCountsView {
  readonly requests: ReadonlyMap<string, number>;
  readonly responses: ReadonlyMap<number, ReadonlyMap<string, number>>;
}

/** Where the series come from; main.ts passes the running components. */
export interface MetricSources {
  activeCalls(): readonly ActiveCall[];
  /** Every provisioned trunk, with its kind. */
  trunks(): ReadonlyArray<{ readonly id: string; readonly kind: "customer" | "carrier" }>;
  channelUse(trunkId: string): ChannelCounts;
  /** The SIP stack's running totals. */
  readonly sipCounters: {
    readonly requestsIn: ReadonlyMap<string, number>;
    readonly responsesOut: ReadonlyMap<number, number>;
    readonly dropped: ReadonlyMap<string, number>;
    readonly malformedAnswered: number;
    /** Every message read or written by the transport, retransmissions included. */
    readonly wire?: { readonly in: WireCountsView; readonly out: WireCountsView };
    /** Transactions timed out, keyed `client INVITE`, `server INVITE`, ... */
    readonly timeouts?: ReadonlyMap<string, number>;
  };
  transactions(): { readonly client: number; readonly server: number };
  /** Null when gateway health checks are off. */
  gatewayHealth(): readonly HealthSnapshot[] | null;
  registrations(): readonly RegistrationState[];
  /** The security guard's counts since start (screened requests, bans, failed digests); absent: no security series. */
  security?(): ReturnType<SecurityGuard["stats"]>;
}

/** What registerServerMetrics gives back to the composition root. */
export interface ServerMetrics {
  /** Counts a call that ended, from its final CDR: result, media quality per leg and direction, fraud verdicts. */
  callEnded(record: CallDetailRecord): void;
  /** Ends the event-loop sampler. */
  stop(): void;
}

// Bucket bounds. Packets per stream: a 20 ms stream sends 50/s, so 3000 is a one-minute call.
const PACKET_BUCKETS = [0, 50, 500, 3000, 15_000, 60_000, 180_000, 720_000];
// Loss as a fraction: G.711 without PLC is audibly hurt from about 1 %, unusable past 5-10 %.
const LOSS_BUCKETS = [0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];
// RFC 3550 interarrival jitter in seconds; a 20-60 ms jitter buffer hides up to about its size.
const JITTER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2];
const RTT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1];
// MOS (ITU-T P.800 scale 1-5; the E-model tops out near 4.4 for G.711): finer where calls are judged.
const MOS_BUCKETS = [1, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.3, 4.4, 4.5];


/** Registers Trunkline's series on registry. */
export function registerServerMetrics(registry: MetricsRegistry, sources: MetricSources): ServerMetrics {
  registry.gauge({ name: "trunkline_calls_active", help: "Calls admitted and not yet ended.", collect: (g) => g.set(undefined, sources.activeCalls().length) });
  registry.gauge({
    name: "trunkline_channels_in_use",
    help: "Channels in use per trunk and direction.",
    labelNames: ["trunk", "kind", "direction"],
    collect: (g) => {
      // Rebuilt each time, so a trunk deleted through the API stops being reported.
      g.reset();
      for (const t of sources.trunks()) {
        const use = sources.channelUse(t.id);
        g.set({ trunk: t.id, kind: t.kind, direction: "inbound" }, use.inbound);
        g.set({ trunk: t.id, kind: t.kind, direction: "outbound" }, use.outbound);
      }
    },
  });
  registry.counter({
    name: "trunkline_sip_requests_received_total",
    help: "SIP requests received, by method.",
    labelNames: ["method"],
    collect: (c) => sources.sipCounters.requestsIn.forEach((n, method) => c.setTotal({ method }, n)),
  });
  registry.counter({
    name: "trunkline_sip_responses_sent_total",
    help: "SIP responses sent, by status code.",
    labelNames: ["code"],
    collect: (c) => sources.sipCounters.responsesOut.forEach((n, code) => c.setTotal({ code }, n)),
  });
  registry.counter({
    name: "trunkline_sip_wire_requests_total",
    help: "SIP requests read from or written to the network (retransmissions included), by direction and method.",
    labelNames: ["direction", "method"],
    collect: (c) => {
      const wire = sources.sipCounters.wire;
      if (wire === undefined) return;
      for (const direction of ["in", "out"] as const) wire[direction].requests.forEach((n, method) => c.setTotal({ direction, method }, n));
    },
  });
  registry.counter({
    name: "trunkline_sip_wire_responses_total",
    help: "SIP responses read from or written to the network (retransmissions included), by direction, status code and CSeq method.",
    labelNames: ["direction", "code", "method"],
    collect: (c) => {
      const wire = sources.sipCounters.wire;
      if (wire === undefined) return;
      for (const direction of ["in", "out"] as const) {
        wire[direction].responses.forEach((byMethod, code) => byMethod.forEach((n, method) => c.setTotal({ direction, code, method }, n)));
      }
    },
  });
  registry.counter({
    name: "trunkline_sip_transaction_timeouts_total",
    help: "SIP transactions that timed out: client side (Timer B/F, no final response) and server side (Timer H, no ACK), by method.",
    labelNames: ["side", "method"],
    collect: (c) =>
      sources.sipCounters.timeouts?.forEach((n, key) => {
        const [side = "", method = ""] = key.split(" ");
        c.setTotal({ side, method }, n);
      }),
  });
  registry.counter({
    name: "trunkline_sip_messages_dropped_total",
    help: "SIP messages dropped, by reason.",
    labelNames: ["reason"],
    collect: (c) => sources.sipCounters.dropped.forEach((n, reason) => c.setTotal({ reason }, n)),
  });
  registry.counter({
    name: "trunkline_sip_malformed_answered_total",
    help: "Malformed SIP requests answered with a stateless 400 or 505.",
    collect: (c) => c.setTotal(undefined, sources.sipCounters.malformedAnswered),
  });
  registry.gauge({
    name: "trunkline_sip_transactions",
    help: "Live SIP transactions, by kind.",
    labelNames: ["kind"],
    collect: (g) => {
      const t = sources.transactions();
      g.set({ kind: "client" }, t.client);
      g.set({ kind: "server" }, t.server);
    },
  });
  registry.gauge({
    name: "trunkline_gateway_up",
    help: "1 when a carrier gateway answers OPTIONS pings, 0 when it is marked down.",
    labelNames: ["gateway", "uri"],
    collect: (g) => {
      g.reset();
      for (const s of sources.gatewayHealth() ?? []) g.set({ gateway: s.id, uri: s.uri }, s.status === "up" ? 1 : 0);
    },
  });
  registry.gauge({
    name: "trunkline_carrier_registered",
    help: "1 when our registration with a carrier is in force, 0 when pending or failed.",
    labelNames: ["carrier"],
    collect: (g) => {
      g.reset();
      for (const r of sources.registrations()) g.set({ carrier: r.carrierId }, r.status === "registered" ? 1 : 0);
    },
  });
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  registry.gauge({
    name: "trunkline_event_loop_lag_seconds",
    help: "Event-loop delay since the previous scrape (mean, p99, max).",
    labelNames: ["stat"],
    collect: (g) => {
      // The histogram is in nanoseconds and empty (NaN mean) before its first sample.
      const s = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0);
      g.set({ stat: "mean" }, s(histogram.mean));
      g.set({ stat: "p99" }, s(histogram.percentile(99)));
      g.set({ stat: "max" }, s(histogram.max));
      histogram.reset();
    },
  });

  if (sources.security !== undefined) registerSecurityMetrics(registry, sources.security);

  const callsEnded = registry.counter({
    name: "trunkline_calls_total",
    help: "Calls ended, by direction and result (the CDR disposition: answered, busy, no-answer, cancelled, failed, refused, interrupted).",
    labelNames: ["direction", "result"],
  });
  const fraudVerdicts = registry.counter({
    name: "trunkline_fraud_verdicts_total",
    help: "Fraud checks of outbound calls that did not simply allow the call, by rule and action (from the decision trace).",
    labelNames: ["rule", "action"],
  });
  const legLabels = ["leg", "direction"];
  const media = {
    packetsTotal: registry.counter({ name: "trunkline_media_packets_total", help: "RTP packets of ended relayed calls, by leg (a caller, b callee) and direction (received from or sent to the leg).", labelNames: legLabels }),
    lostTotal: registry.counter({ name: "trunkline_media_packets_lost_total", help: "RTP packets lost (sequence gaps received; RTCP-reported for sent), by leg and direction.", labelNames: legLabels }),
    packets: registry.histogram({ name: "trunkline_media_stream_packets", help: "RTP packets per call leg and direction, observed when a relayed call ends.", labelNames: legLabels, buckets: PACKET_BUCKETS }),
    loss: registry.histogram({ name: "trunkline_media_loss_ratio", help: "Fraction of RTP packets lost per call leg and direction, observed when a relayed call ends.", labelNames: legLabels, buckets: LOSS_BUCKETS }),
    jitter: registry.histogram({ name: "trunkline_media_jitter_seconds", help: "RFC 3550 interarrival jitter per call leg and direction, observed when a relayed call ends.", labelNames: legLabels, buckets: JITTER_BUCKETS }),
    rtt: registry.histogram({ name: "trunkline_media_rtt_seconds", help: "RTCP round-trip time per call leg and direction, observed when a relayed call ends.", labelNames: legLabels, buckets: RTT_BUCKETS }),
    mos: registry.histogram({ name: "trunkline_media_mos", help: "Estimated MOS (1-5) per call leg and direction, observed when a relayed call ends.", labelNames: legLabels, buckets: MOS_BUCKETS }),
  };
  const observeStream = (leg: "a" | "b", direction: "received" | "sent", q: MediaDirectionQuality): void => {
    const labels = { leg, direction };
    media.packetsTotal.inc(labels, q.packets);
    media.packets.observe(labels, q.packets);
    if (q.lost !== undefined) {
      media.lostTotal.inc(labels, Math.max(0, q.lost));
      // Received: packets counted arrived, the lost ones did not. Sent: the far end lost some of ours.
      const expected = direction === "received" ? q.packets + q.lost : q.packets;
      if (expected > 0) media.loss.observe(labels, Math.min(1, Math.max(0, q.lost) / expected));
    }
    if (q.jitterMs !== undefined) media.jitter.observe(labels, q.jitterMs / 1000);
    if (q.rttMs !== undefined) media.rtt.observe(labels, q.rttMs / 1000);
    if (q.mos !== undefined) media.mos.observe(labels, q.mos);
  };

  return {
    callEnded(record) {
      callsEnded.inc({ direction: record.direction, result: record.disposition ?? "unknown" });
      if (record.media !== undefined) {
        for (const leg of ["a", "b"] as const) {
          const q = record.media[leg];
          observeStream(leg, "received", q.received);
          observeStream(leg, "sent", q.sent);
        }
      }
      // The fraud step's trace entry names its action (allow, block, block-and-suspend) and deciding rule.
      for (const entry of record.trace) {
        if (entry.step !== "fraud") continue;
        const rule = entry.data?.["rule"];
        const action = entry.data?.["action"];
        if (typeof action === "string" ? action === "allow" : entry.result === "pass") continue;
        fraudVerdicts.inc({ rule: typeof rule === "string" ? rule : "unknown", action: typeof action === "string" ? action : entry.result });
      }
    },
    stop: () => histogram.disable(),
  };
}

/** Screened requests by rule (scanner drops are rule scanner-user-agent), bans, failed digests. */
function registerSecurityMetrics(registry: MetricsRegistry, stats: () => ReturnType<SecurityGuard["stats"]>): void {
  registry.counter({
    name: "trunkline_security_screened_total",
    help: "Requests dropped or refused before the SIP stack, by rule (banned, scanner-user-agent, rate and message-shape rules).",
    labelNames: ["rule"],
    collect: (c) => {
      for (const [rule, n] of Object.entries(stats().screened)) c.setTotal({ rule }, n);
    },
  });
  registry.counter({
    name: "trunkline_security_bans_total",
    help: "Bans placed, by rule (manual for the API and CLI).",
    labelNames: ["rule"],
    collect: (c) => {
      for (const [rule, n] of Object.entries(stats().bansPlaced)) c.setTotal({ rule }, n);
    },
  });
  registry.gauge({ name: "trunkline_security_bans_active", help: "Source addresses banned now.", collect: (g) => g.set(undefined, stats().bans) });
  registry.counter({ name: "trunkline_security_auth_failures_total", help: "Failed digest authentications (REGISTER and INVITE).", collect: (c) => c.setTotal(undefined, stats().authFailures) });
}
