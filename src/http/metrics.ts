// The server's Prometheus series. Nothing here counts on the hot path: every value is read from
// the component that already keeps it (call layer, SIP stack counters, health, registrations)
// by a collect hook when /metrics is scraped.
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { ActiveCall, HealthSnapshot, RegistrationState } from "../call/index.ts";
import type { ChannelCounts } from "../domain/index.ts";
import type { MetricsRegistry } from "../observability/index.ts";

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
  };
  transactions(): { readonly client: number; readonly server: number };
  /** Null when gateway health checks are off. */
  gatewayHealth(): readonly HealthSnapshot[] | null;
  registrations(): readonly RegistrationState[];
}

/** Registers Trunkline's series on registry; stop() ends the event-loop sampler. */
export function registerServerMetrics(registry: MetricsRegistry, sources: MetricSources): { stop(): void } {
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
  return { stop: () => histogram.disable() };
}
