import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMetricsRegistry } from "./index.ts";

describe("metrics registry", () => {
  it("renders counters and gauges in the Prometheus text format", () => {
    const r = createMetricsRegistry();
    const req = r.counter({ name: "trunkline_sip_requests_total", help: "SIP requests received.", labelNames: ["method"] });
    const calls = r.gauge({ name: "trunkline_active_calls", help: "Calls in progress." });
    req.inc({ method: "INVITE" });
    req.inc({ method: "INVITE" });
    req.inc({ method: "OPTIONS" }, 5);
    calls.inc();
    calls.inc();
    calls.dec();
    assert.equal(
      r.render(),
      [
        "# HELP trunkline_sip_requests_total SIP requests received.",
        "# TYPE trunkline_sip_requests_total counter",
        'trunkline_sip_requests_total{method="INVITE"} 2',
        'trunkline_sip_requests_total{method="OPTIONS"} 5',
        "# HELP trunkline_active_calls Calls in progress.",
        "# TYPE trunkline_active_calls gauge",
        "trunkline_active_calls 1",
        "",
      ].join("\n"),
    );
  });

  it("shows an unlabelled metric as 0 before its first update, and labelled ones only once seen", () => {
    const r = createMetricsRegistry();
    r.counter({ name: "a_total", help: "a" });
    r.counter({ name: "b_total", help: "b", labelNames: ["x"] });
    assert.match(r.render(), /^a_total 0$/m);
    assert.doesNotMatch(r.render(), /^b_total/m);
  });

  it("escapes label values and help text", () => {
    const r = createMetricsRegistry();
    r.gauge({ name: "g", help: "line\\one\ntwo", labelNames: ["v"] }).set({ v: 'a"b\\c\nd' }, 1.5);
    const text = r.render();
    assert.match(text, /^# HELP g line\\\\one\\ntwo$/m);
    assert.ok(text.includes('g{v="a\\"b\\\\c\\nd"} 1.5\n'));
  });

  it("orders labels as declared, whatever the order given", () => {
    const r = createMetricsRegistry();
    const c = r.counter({ name: "c_total", help: "c", labelNames: ["trunk", "code"] });
    c.inc({ code: 503, trunk: "carrier-a" });
    assert.ok(r.render().includes('c_total{trunk="carrier-a",code="503"} 1'));
    assert.equal(c.get({ trunk: "carrier-a", code: "503" }), 1);
  });

  it("runs a gauge's collect hook before each render", () => {
    const r = createMetricsRegistry();
    let size = 3;
    r.gauge({ name: "bindings", help: "Registered contacts.", collect: (g) => g.set(undefined, size) });
    assert.match(r.render(), /^bindings 3$/m);
    size = 7;
    assert.match(r.render(), /^bindings 7$/m);
  });

  it("throws on programming errors: bad names, wrong labels, duplicates, negative counter steps", () => {
    const r = createMetricsRegistry();
    assert.throws(() => r.counter({ name: "bad-name", help: "" }));
    assert.throws(() => r.counter({ name: "x", help: "", labelNames: ["__reserved"] }));
    const c = r.counter({ name: "ok_total", help: "", labelNames: ["method"] });
    assert.throws(() => r.gauge({ name: "ok_total", help: "" }));
    assert.throws(() => c.inc());
    assert.throws(() => c.inc({ method: "INVITE", extra: "x" }));
    assert.throws(() => c.inc({ method: "INVITE" }, -1));
  });

  it("runs a counter's collect hook, which copies totals counted elsewhere and never lets them go down", () => {
    const r = createMetricsRegistry();
    const seen = new Map<string, number>([["INVITE", 2]]);
    const c = r.counter({ name: "in_total", help: "In.", labelNames: ["method"], collect: (m) => seen.forEach((n, method) => m.setTotal({ method }, n)) });
    assert.match(r.render(), /^in_total\{method="INVITE"\} 2$/m);
    seen.set("INVITE", 5);
    assert.match(r.render(), /^in_total\{method="INVITE"\} 5$/m);
    assert.throws(() => c.setTotal({ method: "INVITE" }, 4));
  });

  it("renders a histogram as cumulative _bucket{le} series ending at +Inf, then _sum and _count", () => {
    const r = createMetricsRegistry();
    const h = r.histogram({ name: "media_mos", help: "MOS per stream.", labelNames: ["leg"], buckets: [1, 2.5, 4] });
    h.observe({ leg: "a" }, 4.4);
    h.observe({ leg: "a" }, 2.5);
    h.observe({ leg: "a" }, 0.5);
    h.observe({ leg: 'b"\\' }, 3);
    h.observe({ leg: "a" }, NaN);
    assert.equal(
      r.render(),
      [
        "# HELP media_mos MOS per stream.",
        "# TYPE media_mos histogram",
        'media_mos_bucket{leg="a",le="1"} 1',
        'media_mos_bucket{leg="a",le="2.5"} 2',
        'media_mos_bucket{leg="a",le="4"} 2',
        'media_mos_bucket{leg="a",le="+Inf"} 3',
        'media_mos_sum{leg="a"} 7.4',
        'media_mos_count{leg="a"} 3',
        'media_mos_bucket{leg="b\\"\\\\",le="1"} 0',
        'media_mos_bucket{leg="b\\"\\\\",le="2.5"} 0',
        'media_mos_bucket{leg="b\\"\\\\",le="4"} 1',
        'media_mos_bucket{leg="b\\"\\\\",le="+Inf"} 1',
        'media_mos_sum{leg="b\\"\\\\"} 3',
        'media_mos_count{leg="b\\"\\\\"} 1',
        "",
      ].join("\n"),
    );
    assert.deepEqual(h.snapshot({ leg: "a" }), {
      buckets: [
        { le: 1, count: 1 },
        { le: 2.5, count: 2 },
        { le: 4, count: 2 },
      ],
      sum: 7.4,
      count: 3,
    });
  });

  it("shows an unlabelled histogram with zero counts before its first observation", () => {
    const r = createMetricsRegistry();
    r.histogram({ name: "lag_seconds", help: "Lag.", buckets: [0.01, 0.1] });
    assert.equal(
      r.render(),
      ["# HELP lag_seconds Lag.", "# TYPE lag_seconds histogram", 'lag_seconds_bucket{le="0.01"} 0', 'lag_seconds_bucket{le="0.1"} 0', 'lag_seconds_bucket{le="+Inf"} 0', "lag_seconds_sum 0", "lag_seconds_count 0", ""].join("\n"),
    );
  });

  it("refuses histograms with the reserved le label, no buckets or buckets out of order", () => {
    const r = createMetricsRegistry();
    assert.throws(() => r.histogram({ name: "h1", help: "", labelNames: ["le"], buckets: [1] }), /reserved/);
    assert.throws(() => r.histogram({ name: "h2", help: "", buckets: [] }), /no buckets/);
    assert.throws(() => r.histogram({ name: "h3", help: "", buckets: [1, 1] }), /ascend/);
    assert.throws(() => r.histogram({ name: "h4", help: "", buckets: [1, Infinity] }), /finite/);
    const h = r.histogram({ name: "h5", help: "", labelNames: ["leg"], buckets: [1] });
    assert.throws(() => h.observe(undefined, 1), /missing label/);
  });
});
