import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bandwidthPerCall,
  busyHourFromCdrs,
  channelLimitOf,
  channelsFor,
  erlangB,
  formatPercent,
  offeredTraffic,
  planTrunk,
  ptimeError,
  type CallUsage,
  type PlanCodec,
} from "./capacity.ts";

// Rows of published Erlang B tables: channels, blocking, the most traffic (erlangs) those channels
// carry at that blocking. Sources: erlang.com calculator manual (15 lines at 1 % → 8.108 E) and the
// usual three-decimal Erlang B tables (e.g. Carrier Grade Voice over IP, appendix A).
const TABLE: ReadonlyArray<readonly [channels: number, blocking: number, erlangs: number]> = [
  [5, 0.001, 0.762],
  [10, 0.01, 4.461],
  [10, 0.05, 6.216],
  [15, 0.01, 8.108],
  [18, 0.01, 10.437],
  [20, 0.01, 12.031],
  [20, 0.02, 13.182],
  [30, 0.01, 20.337],
  [50, 0.01, 37.901],
  [100, 0.01, 84.064],
];

describe("erlangB", () => {
  for (const [n, b, a] of TABLE) {
    it(`${a} E on ${n} channels blocks ${b}`, () => {
      assert.ok(Math.abs(erlangB(a, n) - b) / b < 0.002, `got ${erlangB(a, n)}`);
    });
  }

  it("is 1 with no channels and 0 with no traffic", () => {
    assert.equal(erlangB(5, 0), 1);
    assert.equal(erlangB(0, 10), 0);
  });

  it("stays finite for thousands of channels (no factorials)", () => {
    const b = erlangB(4000, 4100);
    assert.ok(Number.isFinite(b) && b > 0 && b < 0.01);
  });

  for (const [a, n] of [[-1, 1], [Number.NaN, 1], [Infinity, 1], [1, -1], [1, 1.5]] as const) {
    it(`rejects traffic ${a} on ${n} channels`, () => assert.throws(() => erlangB(a, n), RangeError));
  }
});

describe("channelsFor", () => {
  it("10 E at 1 % blocking needs 18 channels", () => assert.equal(channelsFor(10, 0.01), 18));

  for (const [n, b, a] of TABLE) {
    it(`${b} blocking: just under ${a} E needs ${n}, just over needs ${n + 1}`, () => {
      assert.equal(channelsFor(a * 0.999, b), n);
      assert.equal(channelsFor(a * 1.001, b), n + 1);
    });
  }

  const edges: ReadonlyArray<readonly [string, number, number, number]> = [
    ["no traffic needs no channel", 0, 0.01, 0],
    ["a trickle needs one", 1e-9, 0.01, 1],
    ["a tiny blocking target needs more", 10, 1e-12, 40],
    ["large traffic", 5000, 0.001, 5133],
  ];
  for (const [name, a, b, n] of edges) it(name, () => assert.equal(channelsFor(a, b), n));

  for (const b of [0, 1, -0.1, 1.5, Number.NaN]) {
    it(`rejects blocking ${b}`, () => assert.throws(() => channelsFor(10, b), RangeError));
  }
});

describe("offeredTraffic", () => {
  const cases: ReadonlyArray<readonly [number, number, number]> = [
    [360, 100, 10],
    [120, 180, 6],
    [0, 180, 0],
  ];
  for (const [calls, seconds, erlangs] of cases) {
    it(`${calls} calls of ${seconds} s = ${erlangs} E`, () => assert.equal(offeredTraffic(calls, seconds), erlangs));
  }
  it("rejects negative input", () => {
    assert.throws(() => offeredTraffic(-1, 10), RangeError);
    assert.throws(() => offeredTraffic(1, -10), RangeError);
  });
});

describe("bandwidthPerCall", () => {
  // codec, ptime, layer, payload bytes, packet bytes, bit/s one way
  const cases: ReadonlyArray<readonly [PlanCodec, number, "ip" | "ethernet", number, number, number]> = [
    ["G711", 20, "ip", 160, 200, 80_000],
    ["G711", 20, "ethernet", 160, 218, 87_200], // the "about 87 kbit/s": Ethernet header + FCS (18 bytes)
    ["G711", 30, "ethernet", 240, 298, 79_466.666_666_666_67],
    ["G711", 10, "ip", 80, 120, 96_000],
    ["G722", 20, "ethernet", 160, 218, 87_200],
    ["G729", 20, "ip", 20, 60, 24_000],
    ["G729", 20, "ethernet", 20, 78, 31_200],
    ["G729", 30, "ethernet", 30, 88, 23_466.666_666_666_668],
    ["opus", 20, "ip", 80, 120, 48_000],
    ["opus", 60, "ethernet", 240, 298, 39_733.333_333_333_336],
  ];
  for (const [codec, ptime, layer, payload, packet, bps] of cases) {
    it(`${codec} ${ptime} ms at the ${layer} layer: ${bps} bit/s`, () => {
      const r = bandwidthPerCall(codec, ptime, { layer });
      assert.equal(r.payloadBytes, payload);
      assert.equal(r.packetBytes, packet);
      assert.ok(Math.abs(r.bitsPerSecond - bps) < 1e-6, String(r.bitsPerSecond));
    });
  }

  const bad: ReadonlyArray<readonly [PlanCodec, number]> = [["G729", 15], ["G711", 0], ["opus", 5], ["G711", 150], ["G711", 2.5]];
  for (const [codec, ptime] of bad) {
    it(`rejects ${codec} at ${ptime} ms`, () => {
      assert.equal(typeof ptimeError(codec, ptime), "string");
      assert.throws(() => bandwidthPerCall(codec, ptime, { layer: "ip" }), RangeError);
    });
  }
});

describe("busyHourFromCdrs", () => {
  const H = Date.UTC(2026, 0, 31, 9, 0, 0);
  const HOUR = 3_600_000;
  const call = (startedAt: number, seconds: number, ...trunkIds: string[]): CallUsage => ({ startedAt, durationMs: seconds * 1000, trunkIds });
  const records: CallUsage[] = [
    // 09:00 hour: acme 3 calls, 600 s in all; alpha carries two of them.
    call(H + 60_000, 120, "acme", "alpha"),
    call(H + 30 * 60_000, 180, "acme", "alpha"),
    call(H + 59 * 60_000, 300, "acme"),
    // 10:00 hour: acme 2 calls but 1800 s: its busy hour; alpha 1 call of 100 s.
    call(H + HOUR, 900, "acme"),
    call(H + HOUR + 1, 900, "acme"),
    call(H + HOUR + 2, 100, "alpha"),
    // Not answered: ignored.
    call(H + 2 * HOUR, 0, "acme", "alpha"),
    // globex: two hours with equal traffic; the earlier wins. A duplicate id counts once.
    call(H, 60, "globex", "globex"),
    call(H + HOUR, 60, "globex"),
  ];

  it("finds the busiest clock hour of each trunk, by traffic", () => {
    assert.deepEqual(busyHourFromCdrs(records), [
      { trunkId: "acme", hourStart: H + HOUR, calls: 2, meanDurationSeconds: 900, trafficErlangs: 0.5 },
      { trunkId: "alpha", hourStart: H, calls: 2, meanDurationSeconds: 150, trafficErlangs: 300 / 3600 },
      { trunkId: "globex", hourStart: H, calls: 1, meanDurationSeconds: 60, trafficErlangs: 60 / 3600 },
    ]);
  });

  it("keeps to the period given", () => {
    const r = busyHourFromCdrs(records, { from: H, to: H + HOUR });
    assert.deepEqual(r.map((b) => [b.trunkId, b.hourStart, b.calls]), [["acme", H, 3], ["alpha", H, 2], ["globex", H, 1]]);
  });

  it("is empty without answered calls", () => {
    assert.deepEqual(busyHourFromCdrs([call(H, 0, "acme")]), []);
  });

  it("agrees with offeredTraffic", () => {
    const many = Array.from({ length: 360 }, (_, i) => call(H + i * 10_000, 100, "big"));
    const [b] = busyHourFromCdrs(many);
    assert.equal(b?.trafficErlangs, offeredTraffic(360, 100));
    assert.equal(channelsFor(b?.trafficErlangs ?? 0, 0.01), 18);
  });
});

describe("channelLimitOf", () => {
  const cases: ReadonlyArray<readonly [string, Parameters<typeof channelLimitOf>[0], number | undefined]> = [
    ["unlimited", {}, undefined],
    ["channels", { channels: 30 }, 30],
    ["inbound + outbound", { inboundChannels: 10, outboundChannels: 5 }, 15],
    ["one direction only is unlimited in all", { inboundChannels: 10 }, undefined],
    ["the smaller of both", { channels: 30, inboundChannels: 10, outboundChannels: 5 }, 15],
  ];
  for (const [name, limits, want] of cases) it(name, () => assert.equal(channelLimitOf(limits), want));
});

describe("planTrunk", () => {
  const base = { trafficErlangs: 10, blocking: 0.01, codec: "G711", ptimeMs: 20, layer: "ethernet" } as const;

  it("needs 18 channels and 18 × 87.2 kbit/s for 10 E at 1 %", () => {
    const p = planTrunk(base);
    assert.equal(p.channels, 18);
    assert.ok(p.blockingAtChannels <= 0.01);
    assert.ok(Math.abs(p.bitsPerSecond - 18 * 87_200) < 1e-6);
    assert.equal(p.configuredChannels, null);
    assert.equal(p.warning, null);
  });

  const limits: ReadonlyArray<readonly [number, boolean]> = [[17, true], [10, true], [0, true], [18, false], [30, false]];
  for (const [limit, warns] of limits) {
    it(`limit ${limit}: ${warns ? "warns" : "no warning"}`, () => {
      const p = planTrunk({ ...base, configuredChannels: limit });
      assert.equal(p.configuredChannels, limit);
      assert.equal(p.warning !== null, warns);
      assert.equal(p.blockingAtConfigured, erlangB(10, limit));
    });
  }

  it("says how much would be refused", () => {
    assert.equal(
      planTrunk({ ...base, configuredChannels: 15 }).warning,
      "channel limit 15 is below the 18 needed for 10.00 E at 1% blocking; about 3.65% of busy-hour calls would be refused",
    );
  });

  it("formats percentages", () => {
    assert.deepEqual([0.01, 0.0025, 0.079123, 1].map(formatPercent), ["1%", "0.25%", "7.91%", "100%"]);
  });
});
