import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createMetricsRegistry } from "../observability/index.ts";
import { registerServerMetrics, type MetricSources } from "./index.ts";

function sources(): MetricSources & { counters: { requestsIn: Map<string, number>; responsesOut: Map<number, number>; dropped: Map<string, number>; malformedAnswered: number } } {
  const counters = { requestsIn: new Map([["INVITE", 3], ["OPTIONS", 10]]), responsesOut: new Map([[200, 2], [503, 1]]), dropped: new Map([["PARSE_ERROR", 4]]), malformedAnswered: 1 };
  return {
    counters,
    activeCalls: () => [{ id: "c1", callId: "x", direction: "outbound", customerId: "acme", carrierId: "alpha", state: "answered", startedAt: 0, answeredAt: 1 }],
    trunks: () => [
      { id: "acme", kind: "customer" },
      { id: "alpha", kind: "carrier" },
    ],
    channelUse: (id) => (id === "acme" ? { inbound: 0, outbound: 1 } : { inbound: 0, outbound: 1 }),
    sipCounters: counters,
    transactions: () => ({ client: 2, server: 5 }),
    gatewayHealth: () => [
      { id: "alpha-gw1", uri: "sip:127.0.2.1:5060", status: "up", consecutiveMisses: 0, consecutiveAnswers: 1, since: 0, last: null },
      { id: "alpha-gw2", uri: "sip:127.0.2.2:5060", status: "down", consecutiveMisses: 3, consecutiveAnswers: 0, since: 0, last: null },
    ],
    registrations: () => [{ carrierId: "beta", aor: "sip:u@beta", status: "registered", expiresAt: 1, lastError: null, failures: 0, nextAttemptAt: null }],
  };
}

describe("server metrics", () => {
  test("every series reads its source at scrape time", () => {
    const registry = createMetricsRegistry();
    const s = sources();
    const m = registerServerMetrics(registry, s);
    try {
      const text = registry.render();
      for (const line of [
        "trunkline_calls_active 1",
        'trunkline_channels_in_use{trunk="acme",kind="customer",direction="outbound"} 1',
        'trunkline_channels_in_use{trunk="alpha",kind="carrier",direction="inbound"} 0',
        'trunkline_sip_requests_received_total{method="INVITE"} 3',
        'trunkline_sip_responses_sent_total{code="503"} 1',
        'trunkline_sip_messages_dropped_total{reason="PARSE_ERROR"} 4',
        "trunkline_sip_malformed_answered_total 1",
        'trunkline_sip_transactions{kind="server"} 5',
        'trunkline_gateway_up{gateway="alpha-gw1",uri="sip:127.0.2.1:5060"} 1',
        'trunkline_gateway_up{gateway="alpha-gw2",uri="sip:127.0.2.2:5060"} 0',
        'trunkline_carrier_registered{carrier="beta"} 1',
      ]) {
        assert.ok(text.split("\n").includes(line), `missing: ${line}\n${text}`);
      }
      assert.match(text, /^# TYPE trunkline_sip_requests_received_total counter$/m);
      assert.match(text, /^trunkline_event_loop_lag_seconds\{stat="max"\} \d/m);
      s.counters.requestsIn.set("INVITE", 8);
      assert.ok(registry.render().includes('trunkline_sip_requests_received_total{method="INVITE"} 8'));
    } finally {
      m.stop();
    }
  });
});
