import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { listenRtpengineDtmfLog, parseRtpengineDtmfLog, type RtpengineDtmfEvent, type RtpengineDtmfLog } from "./dtmf-log.ts";

// As rtpengine 10.5 writes it (captured from --dtmf-log-dest).
const LINE = '{"callid":"c1","source_tag":"a","tags":["a","b1"],"type":"DTMF","timestamp":1795508390,"source_ip":"127.0.0.1","event":5,"duration":80,"volume":10}';

describe("rtpengine DTMF log: parse", () => {
  test("a DTMF line gives call-id, source tag, digit and duration; * # A-D map like RFC 4733", () => {
    assert.deepEqual(parseRtpengineDtmfLog(Buffer.from(LINE)), { callId: "c1", sourceTag: "a", digit: "5", durationMs: 80 });
    const with_ = (over: Record<string, unknown>) => parseRtpengineDtmfLog(Buffer.from(JSON.stringify({ ...JSON.parse(LINE), ...over })));
    assert.equal(with_({ event: 10 })?.digit, "*");
    assert.equal(with_({ event: 11 })?.digit, "#");
    assert.equal(with_({ event: 15 })?.digit, "D");
    assert.equal(with_({ duration: undefined })?.durationMs, 100, "a missing duration gets a default");
  });

  test("anything else is undefined: not JSON, another type, no call-id, an event that is no digit, oversized", () => {
    const with_ = (over: Record<string, unknown>) => parseRtpengineDtmfLog(Buffer.from(JSON.stringify({ ...JSON.parse(LINE), ...over })));
    assert.equal(parseRtpengineDtmfLog(Buffer.from("not json")), undefined);
    assert.equal(parseRtpengineDtmfLog(Buffer.from("[1,2]")), undefined);
    assert.equal(with_({ type: "other" }), undefined);
    assert.equal(with_({ callid: "" }), undefined);
    assert.equal(with_({ source_tag: 3 }), undefined);
    assert.equal(with_({ event: 40 }), undefined);
    assert.equal(with_({ event: 1.5 }), undefined);
    assert.equal(parseRtpengineDtmfLog(Buffer.alloc(5000, 0x20)), undefined);
  });
});

describe("rtpengine DTMF log: listener", () => {
  let log: RtpengineDtmfLog | undefined;
  afterEach(async () => {
    await log?.close();
    log = undefined;
  });

  test("events from rtpengine's address are delivered; other sources and garbage are dropped with a reason", async () => {
    const events: RtpengineDtmfEvent[] = [];
    const dropped: string[] = [];
    log = await listenRtpengineDtmfLog({ address: "127.0.0.1", port: 0, from: "127.0.0.5", onEvent: (e) => events.push(e), onDropped: (reason, source) => dropped.push(`${reason} ${source}`) });
    const send = async (from: string, text: string) => {
      const s = createSocket("udp4");
      await new Promise<void>((r) => s.bind(0, from, () => r()));
      await new Promise<void>((r) => s.send(text, log!.port, "127.0.0.1", () => r()));
      s.close();
    };
    await send("127.0.0.5", LINE);
    await send("127.0.0.6", LINE);
    await send("127.0.0.5", "garbage");
    const deadline = Date.now() + 2000;
    while (events.length + dropped.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(events, [{ callId: "c1", sourceTag: "a", digit: "5", durationMs: 80 }]);
    assert.deepEqual(dropped.sort(), ["foreign-source 127.0.0.6", "unreadable 127.0.0.5"]);
  });
});
