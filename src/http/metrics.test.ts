import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CdrDraft } from "../call/index.ts";
import { createMetricsRegistry } from "../observability/index.ts";
import type { CallDetailRecord } from "../ports/index.ts";
import { MemoryCdrRepository } from "../storage/index.ts";
import { registerServerMetrics, type MetricSources } from "./index.ts";

function sources(): MetricSources & { counters: { requestsIn: Map<string, number>; responsesOut: Map<number, number>; dropped: Map<string, number>; malformedAnswered: number } } {
  const counters = {
    requestsIn: new Map([["INVITE", 3], ["OPTIONS", 10]]),
    responsesOut: new Map([[200, 2], [503, 1]]),
    dropped: new Map([["PARSE_ERROR", 4]]),
    malformedAnswered: 1,
    wire: {
      in: { requests: new Map([["INVITE", 4]]), responses: new Map([[180, new Map([["INVITE", 1]])]]) },
      out: { requests: new Map([["INVITE", 2]]), responses: new Map([[200, new Map([["INVITE", 1], ["BYE", 2]])]]) },
    },
    timeouts: new Map([["client INVITE", 2], ["server INVITE", 1]]),
  };
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
        'trunkline_sip_wire_requests_total{direction="in",method="INVITE"} 4',
        'trunkline_sip_wire_requests_total{direction="out",method="INVITE"} 2',
        'trunkline_sip_wire_responses_total{direction="in",code="180",method="INVITE"} 1',
        'trunkline_sip_wire_responses_total{direction="out",code="200",method="BYE"} 2',
        'trunkline_sip_transaction_timeouts_total{side="client",method="INVITE"} 2',
        'trunkline_sip_transaction_timeouts_total{side="server",method="INVITE"} 1',
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

  test("security series copy the guard's counts at scrape time", () => {
    const registry = createMetricsRegistry();
    let stats = { screened: { "scanner-user-agent": 4, banned: 9 }, bans: 2, authFailures: 5, bansPlaced: { "scanner-user-agent": 1, manual: 1 } };
    const m = registerServerMetrics(registry, { ...sources(), security: () => stats });
    try {
      const lines = registry.render().split("\n");
      for (const line of [
        'trunkline_security_screened_total{rule="scanner-user-agent"} 4',
        'trunkline_security_screened_total{rule="banned"} 9',
        'trunkline_security_bans_total{rule="manual"} 1',
        "trunkline_security_bans_active 2",
        "trunkline_security_auth_failures_total 5",
      ]) {
        assert.ok(lines.includes(line), `missing: ${line}`);
      }
      stats = { ...stats, authFailures: 7, bans: 0 };
      const again = registry.render().split("\n");
      assert.ok(again.includes("trunkline_security_auth_failures_total 7"));
      assert.ok(again.includes("trunkline_security_bans_active 0"));
    } finally {
      m.stop();
    }
  });

  test("a closed CDR counts the call by direction and result, its media per leg and direction, and fraud verdicts", async () => {
    const registry = createMetricsRegistry();
    const m = registerServerMetrics(registry, sources());
    const repo = new MemoryCdrRepository();
    // As the call layer's onCallEnded does: each record once it is written.
    const cdrs = { open: (r: CallDetailRecord) => repo.open(r), close: async (r: CallDetailRecord) => { await repo.close(r); m.callEnded(r); } };
    try {
      const base = cdr("c1");
      await cdrs.open(base);
      const text0 = registry.render();
      assert.doesNotMatch(text0, /^trunkline_calls_total\{/m, "an opened record is not an ended call");
      await cdrs.close({
        ...base,
        endedAt: 2000,
        disposition: "answered",
        media: {
          a: { codec: "PCMU", srtp: false, received: { packets: 990, lost: 10, jitterMs: 4, mos: 4.1 }, sent: { packets: 1000, lost: 0, jitterMs: 2, rttMs: 30, mos: 4.4 } },
          b: { codec: "PCMU", srtp: false, received: { packets: 1000 }, sent: { packets: 990 } },
        },
      });
      await cdrs.close({
        ...cdr("c2"),
        endedAt: 3000,
        disposition: "refused",
        finalStatus: 403,
        trace: [{ at: 1, step: "fraud", result: "refuse", detail: "high-risk range", data: { rule: "high-risk-range", action: "block" } }],
      });
      assert.equal((await repo.get("c1"))?.disposition, "answered", "the record is written through");
      const lines = registry.render().split("\n");
      for (const line of [
        'trunkline_calls_total{direction="outbound",result="answered"} 1',
        'trunkline_calls_total{direction="outbound",result="refused"} 1',
        'trunkline_fraud_verdicts_total{rule="high-risk-range",action="block"} 1',
        'trunkline_media_packets_total{leg="a",direction="received"} 990',
        'trunkline_media_packets_lost_total{leg="a",direction="received"} 10',
        'trunkline_media_loss_ratio_bucket{leg="a",direction="received",le="0.005"} 0',
        'trunkline_media_loss_ratio_bucket{leg="a",direction="received",le="0.01"} 1',
        'trunkline_media_loss_ratio_sum{leg="a",direction="received"} 0.01',
        'trunkline_media_jitter_seconds_bucket{leg="a",direction="received",le="0.0025"} 0',
        'trunkline_media_jitter_seconds_bucket{leg="a",direction="received",le="0.005"} 1',
        'trunkline_media_jitter_seconds_count{leg="a",direction="received"} 1',
        'trunkline_media_rtt_seconds_count{leg="a",direction="sent"} 1',
        'trunkline_media_mos_bucket{leg="a",direction="sent",le="4.3"} 0',
        'trunkline_media_mos_bucket{leg="a",direction="sent",le="4.4"} 1',
        'trunkline_media_mos_bucket{leg="a",direction="sent",le="+Inf"} 1',
        'trunkline_media_stream_packets_count{leg="b",direction="sent"} 1',
      ]) {
        assert.ok(lines.includes(line), `missing: ${line}`);
      }
      // Leg b reported no MOS: nothing observed rather than a zero.
      assert.ok(!lines.some((l) => l.startsWith('trunkline_media_mos_count{leg="b"')));
      assert.match(registry.render(), /^# TYPE trunkline_media_mos histogram$/m);
    } finally {
      m.stop();
    }
  });
});

/** A fresh outbound record from acme to alpha, made by the draft the call layer uses. */
function cdr(id: string): CallDetailRecord {
  const draft = new CdrDraft(() => 1000, { callId: `${id}@pbx`, direction: "outbound", callerRaw: "100", calleeRaw: "200" });
  draft.set({ customerId: "acme", carrierId: "alpha" });
  return { ...draft.record(), id };
}
