import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type BencodeDict, type NgClient, type NgError, type NgReply, createNgClient } from "../media/index.ts";
import { FakeClock, type Result } from "../lib/index.ts";
import { MediaAnchorError, type MediaAnchorEvent } from "./media-anchor.ts";
import { qualityFromQuery, rtpengineMediaAnchor } from "./media-rtpengine-anchor.ts";
import { type RtpengineProcess, rtpengineInstalled, startRtpengine } from "../../test/support/rtpengine.ts";

const sdp = (port: number, formats = "0 101", profile = "RTP/AVP", extra = ""): Buffer =>
  Buffer.from(
    `v=0\r\no=x 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\nm=audio ${port} ${profile} ${formats}\r\n` +
      `a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n${extra}`,
  );

/** An ng client that records each request and answers from a script (the protocol itself is tested in src/media/rtpengine). */
function recordingClient(answer: (command: string, params: BencodeDict) => Result<NgReply, NgError> = (c, p) => ({ ok: true, value: { result: "ok", ...(c === "offer" || c === "answer" ? { sdp: String(p["sdp"]) } : {}) } })) {
  const calls: { command: string; params: BencodeDict }[] = [];
  const run = async (command: string, params: BencodeDict = {}): Promise<Result<NgReply, NgError>> => {
    calls.push({ command, params });
    return answer(command, params);
  };
  const withSdp = async (command: string, params: BencodeDict) => {
    const r = await run(command, params);
    return r.ok ? { ok: true as const, value: { ...r.value, sdp: String(r.value["sdp"]) } } : r;
  };
  const client: NgClient = {
    request: run,
    ping: () => run("ping"),
    offer: (p) => withSdp("offer", p),
    answer: (p) => withSdp("answer", p),
    delete: (p) => run("delete", p),
    query: (p) => run("query", p),
    close: async () => {},
  };
  return { client, calls };
}

describe("rtpengine media anchor: ng options from trunk media settings", () => {
  test("offer and answer carry call-id and per-leg tags; release deletes the call", async () => {
    const { client, calls } = recordingClient();
    const anchor = rtpengineMediaAnchor({ client });
    await anchor.offer("call-1", "a", sdp(7000));
    await anchor.answer("call-1", "b", sdp(7002));
    await anchor.release("call-1");
    assert.deepEqual(calls.map((c) => c.command), ["offer", "answer", "delete"]);
    assert.equal(calls[0]!.params["from-tag"], "a");
    assert.equal(calls[0]!.params["to-tag"], undefined, "the callee's tag is not known at the first offer");
    assert.deepEqual({ from: calls[1]!.params["from-tag"], to: calls[1]!.params["to-tag"] }, { from: "a", to: "b1" });
    assert.deepEqual([...(calls[0]!.params["flags"] as string[])], ["trust-address"]);
    assert.equal(calls[2]!.params["call-id"], "call-1");
  });

  test("towards a trunk that requires SRTP: RTP/SAVP with the AES_CM_128 SDES suites only; towards srtp off: RTP/AVP", async () => {
    const { client, calls } = recordingClient();
    const anchor = rtpengineMediaAnchor({ client });
    await anchor.offer("c", "a", sdp(7000), { b: { srtp: "required" } });
    assert.equal(calls[0]!.params["transport-protocol"], "RTP/SAVP");
    const sdes = calls[0]!.params["SDES"] as string[];
    assert.ok(sdes.includes("no-AEAD_AES_256_GCM") && !sdes.some((s) => s.includes("AES_CM_128")), JSON.stringify(sdes));
    await anchor.offer("d", "a", sdp(7000), { b: { srtp: "off" } });
    assert.equal(calls[1]!.params["transport-protocol"], "RTP/AVP");
  });

  test("codec allow-list: others stripped; only the other G.711 law allowed: masked and transcoded; nothing in common: 488 with a 305 Warning", async () => {
    const { client, calls } = recordingClient();
    const anchor = rtpengineMediaAnchor({ client });
    await anchor.offer("c1", "a", sdp(7000, "0 8 101"), { b: { codecs: ["PCMA"] } });
    assert.deepEqual(calls[0]!.params["codec"], { strip: ["PCMU"] });
    await anchor.offer("c2", "a", sdp(7000, "0 101"), { b: { codecs: ["PCMA", "telephone-event"] } });
    assert.deepEqual(calls[1]!.params["codec"], { mask: ["PCMU"], transcode: ["PCMA"] });
    await assert.rejects(anchor.offer("c3", "a", sdp(7000, "0 101"), { b: { codecs: ["G729"] } }), (e: unknown) => {
      assert.ok(e instanceof MediaAnchorError);
      assert.equal(e.status, 488);
      assert.match(e.warning ?? "", /^305 trunkline "no common codec/);
      return true;
    });
    assert.equal(calls.length, 2, "a refused offer never reaches rtpengine");
  });

  test("telephone-event is stripped towards a trunk whose DTMF mode is inband, consumed towards one whose mode is info", async () => {
    const { client, calls } = recordingClient();
    const anchor = rtpengineMediaAnchor({ client });
    await anchor.offer("c", "a", sdp(7000), { b: { dtmf: "inband" } });
    assert.deepEqual(calls[0]!.params["codec"], { strip: ["telephone-event"] });
    await anchor.offer("d", "a", sdp(7000), { b: { dtmf: "info" } });
    assert.deepEqual(calls[1]!.params["codec"], { consume: ["telephone-event"] });
  });

  test("a digit in rtpengine's DTMF log becomes dtmf-info towards an info leg, from either side; other tags, calls and non-info legs get nothing", async () => {
    const { client } = recordingClient();
    const anchor = rtpengineMediaAnchor({ client });
    const events: MediaAnchorEvent[] = [];
    anchor.listen("c", (e) => events.push(e));
    await anchor.offer("c", "a", sdp(7000), { b: { dtmf: "info" } });
    await anchor.answer("c", "b", sdp(7002, "0"));
    anchor.dtmfLogged({ callId: "c", sourceTag: "a", digit: "5", durationMs: 120 });
    anchor.dtmfLogged({ callId: "c", sourceTag: "b1", digit: "6", durationMs: 100 });
    anchor.dtmfLogged({ callId: "c", sourceTag: "b0", digit: "7", durationMs: 100 });
    anchor.dtmfLogged({ callId: "other", sourceTag: "a", digit: "8", durationMs: 100 });
    assert.deepEqual(events, [{ type: "dtmf-info", toLeg: "b", digit: "5", durationMs: 120 }], "only the A leg's digit, towards the info leg B");
    await anchor.release("c");
    anchor.dtmfLogged({ callId: "c", sourceTag: "a", digit: "9", durationMs: 100 });
    assert.equal(events.length, 1, "nothing after release");
  });

  test("a leg that requires SRTP and offers plain RTP gets 488 with a 302 Warning", async () => {
    const { client } = recordingClient();
    const anchor = rtpengineMediaAnchor({ client });
    await assert.rejects(anchor.offer("c", "a", sdp(7000), { a: { srtp: "required" } }), (e: unknown) => e instanceof MediaAnchorError && e.status === 488 && /^302 /.test(e.warning ?? ""));
  });

  test("rtpengine unreachable is 503; a body it refuses is 488", async () => {
    const timeout = recordingClient(() => ({ ok: false, error: { code: "NG_TIMEOUT", message: "no reply" } }));
    await assert.rejects(rtpengineMediaAnchor({ client: timeout.client }).offer("c", "a", sdp(7000)), (e: unknown) => e instanceof MediaAnchorError && e.status === 503);
    const refused = recordingClient(() => ({ ok: false, error: { code: "NG_ERROR", message: "x", reason: "Failed to parse SDP" } }));
    await assert.rejects(rtpengineMediaAnchor({ client: refused.client }).offer("c", "a", sdp(7000)), (e: unknown) => e instanceof MediaAnchorError && e.status === 488);
  });

  test("direct media: SDP passes untouched and rtpengine is never asked", async () => {
    const { client, calls } = recordingClient();
    const anchor = rtpengineMediaAnchor({ client });
    const body = sdp(7000);
    assert.equal(await anchor.offer("c", "a", body, { b: { directMedia: true } }), body);
    await anchor.release("c");
    assert.equal(calls.length, 0);
  });

  test("reoffer (failover): an answered B branch is deleted, the caller's offer goes to a new tag with the new trunk's options", async () => {
    const { client, calls } = recordingClient();
    const anchor = rtpengineMediaAnchor({ client });
    const original = sdp(7000, "0 101");
    await anchor.offer("c", "a", original, { b: { srtp: "required", codecs: ["PCMA"] } });
    await anchor.answer("c", "b", sdp(7002, "8", "RTP/SAVP")); // early media from carrier 1
    await anchor.reoffer("c", original, { b: { srtp: "off", codecs: ["PCMU"] } });
    assert.deepEqual(calls.map((c) => c.command), ["offer", "answer", "delete", "offer"]);
    assert.deepEqual({ from: calls[2]!.params["from-tag"], to: calls[2]!.params["to-tag"] }, { from: "a", to: "b1" });
    const again = calls[3]!.params;
    assert.equal(again["from-tag"], "a");
    assert.equal(again["to-tag"], undefined);
    assert.equal(again["transport-protocol"], "RTP/AVP");
    assert.equal(again["codec"], undefined, "PCMU is allowed as offered");
    await anchor.answer("c", "b", sdp(7004, "0"));
    assert.equal(calls[4]!.params["to-tag"], "b2");
  });
});

describe("rtpengine media anchor: quality from query", () => {
  test("packets per tag, codec, profile and RTCP-based figures by SSRC", () => {
    const stream = (port: number, packets: number, ssrc: number) => ({ "local port": port, flags: ["RTP", "filled"], SSRC: ssrc, stats: { packets, bytes: packets * 172, errors: 0 } });
    const rtcp = { "local port": 1, flags: ["RTCP"], stats: { packets: 3, bytes: 0, errors: 0 } };
    const reply: NgReply = {
      result: "ok",
      SSRC: { "4369": { "cumulative loss": 2, "average MOS": { MOS: 43, "round-trip time": 1500, jitter: 3, "packet loss": 1 } } },
      tags: {
        a: { tag: "a", medias: [{ index: 1, type: "audio", protocol: "RTP/AVP", codec: "PCMU/8000", streams: [stream(45014, 250, 0x1111), rtcp] }] },
        b1: { tag: "b1", medias: [{ index: 1, type: "audio", protocol: "RTP/SAVP", codec: "PCMA/8000", streams: [stream(45000, 240, 0x2222), rtcp] }] },
      },
    };
    assert.deepEqual(qualityFromQuery(reply, { a: "a", b: "b1" }), {
      a: { codec: "PCMU", srtp: false, received: { packets: 250, lost: 2, jitterMs: 3, rttMs: 1.5, mos: 4.3 }, sent: { packets: 240 } },
      b: { codec: "PCMA", srtp: true, received: { packets: 240 }, sent: { packets: 250 } },
    });
    assert.equal(qualityFromQuery({ result: "ok" }, { a: "a", b: "b1" }), undefined);
  });
});

describe("rtpengine media anchor: rtpengine going away", () => {
  /** Lets the awaited query of a poll settle after the fake clock fired it. */
  const settle = () => new Promise((r) => setImmediate(r));

  test("queries unanswered three times in a row fail the call's media (media timeout off); an answer in between resets the count; an error reply does not count", async () => {
    let reply: "timeout" | "ok" | "error" = "timeout";
    const { client, calls } = recordingClient((command, p) => {
      if (command !== "query") return { ok: true, value: { result: "ok", ...(command === "offer" || command === "answer" ? { sdp: String(p["sdp"]) } : {}) } };
      if (reply === "ok") return { ok: true, value: { result: "ok" } };
      if (reply === "error") return { ok: false, error: { code: "NG_ERROR", message: "ng error", reason: "internal" } };
      return { ok: false, error: { code: "NG_TIMEOUT", message: "no ng reply" } };
    });
    const clock = new FakeClock();
    const anchor = rtpengineMediaAnchor({ client, clock, statsIntervalMs: 100, mediaTimeoutMs: 0, oneWayAfterMs: 0 });
    const events: MediaAnchorEvent[] = [];
    anchor.listen("c", (e) => events.push(e));
    await anchor.offer("c", "a", sdp(7000));
    await anchor.answer("c", "b", sdp(7002));
    anchor.started("c");
    const pollOnce = async (as: typeof reply) => {
      reply = as;
      clock.advance(100);
      await settle();
    };
    await pollOnce("timeout");
    await pollOnce("timeout");
    await pollOnce("ok");
    await pollOnce("timeout");
    await pollOnce("error");
    await pollOnce("timeout");
    await pollOnce("timeout");
    assert.equal(events.length, 0, `never three unanswered in a row yet: ${JSON.stringify(events)}`);
    await pollOnce("timeout");
    assert.equal(events.length, 1, JSON.stringify(events));
    const failed = events[0]!;
    assert.equal(failed.type, "media-failed");
    assert.match(failed.type === "media-failed" ? failed.reason : "", /rtpengine did not answer 3 queries in a row \(NG_TIMEOUT\)/);
    const queries = calls.filter((c) => c.command === "query").length;
    await pollOnce("timeout");
    assert.equal(calls.filter((c) => c.command === "query").length, queries, "no more polls once failed");
    await anchor.release("c");
  });
});

const skip = rtpengineInstalled() ? false : "rtpengine is not installed (scripts/test.sh installs Debian's rtpengine-daemon)";
let daemon: RtpengineProcess | undefined;
let ng: NgClient | undefined;
afterEach(async () => {
  await ng?.close();
  await daemon?.stop();
  ng = undefined;
  daemon = undefined;
});

describe("rtpengine media anchor against rtpengine", { skip }, () => {
  test("SDP is rewritten to rtpengine's ports; with no RTP the media timeout fires; release deletes the call", async () => {
    daemon = await startRtpengine({ portMin: 45400, portMax: 45499 });
    ng = createNgClient({ address: daemon.address, port: daemon.ngPort });
    const anchor = rtpengineMediaAnchor({ client: ng, statsIntervalMs: 50, mediaTimeoutMs: 300, oneWayAfterMs: 0 });
    const events: MediaAnchorEvent[] = [];
    anchor.listen("t1", (e) => events.push(e));
    const toB = (await anchor.offer("t1", "a", sdp(7000))).toString();
    assert.match(toB, /c=IN IP4 127\.0\.0\.1/);
    assert.match(toB, /m=audio 454\d\d RTP\/AVP 0/);
    const toA = (await anchor.answer("t1", "b", sdp(7002, "0"))).toString();
    assert.match(toA, /m=audio 454\d\d RTP\/AVP 0/);
    anchor.started("t1");
    const deadline = Date.now() + 5000;
    while (events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(events[0]?.type, "media-timeout", JSON.stringify(events));
    const report = anchor.report("t1");
    assert.ok(report, "a report from the polls");
    assert.equal(report.a.received.packets, 0);
    await anchor.release("t1");
    const q = await ng.query({ "call-id": "t1" });
    assert.ok(!q.ok && q.error.code === "NG_ERROR", JSON.stringify(q));
  });

  test("rtpengine killed mid-call: the call's media fails with the reason, with no media timeout configured", async () => {
    daemon = await startRtpengine({ portMin: 45500, portMax: 45599 });
    ng = createNgClient({ address: daemon.address, port: daemon.ngPort, timeoutMs: 200 });
    const anchor = rtpengineMediaAnchor({ client: ng, statsIntervalMs: 50, mediaTimeoutMs: 0, oneWayAfterMs: 0 });
    const events: MediaAnchorEvent[] = [];
    anchor.listen("k1", (e) => events.push(e));
    await anchor.offer("k1", "a", sdp(7000));
    await anchor.answer("k1", "b", sdp(7002, "0"));
    anchor.started("k1");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(events.length, 0, `a live rtpengine answers every query: ${JSON.stringify(events)}`);
    await daemon.stop();
    daemon = undefined;
    const deadline = Date.now() + 5000;
    while (events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(events[0]?.type, "media-failed", JSON.stringify(events));
    await anchor.release("k1");
  });
});
