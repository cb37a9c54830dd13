// The relay's call-facing features through the control face (MediaRelayControl), run twice: on
// the main thread (createMediaRelay) and in worker threads (createWorkerMediaRelay), with real
// sockets and the system clock in both. Worker-only cases: pinning, crash recovery.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatCrypto, readStreams } from "../../sdp/index.ts";
import { dtmfPacketSequence, marshalDtmfEvent, parseDtmfEvent } from "../dtmf-event.ts";
import { ULAW_TO_ALAW } from "../g711.ts";
import { parseRtpPacket } from "../rtp-packet.ts";
import { generateSrtpMasterKey, sdesCryptoAttribute, sdesKeyOf } from "../sdes-key.ts";
import { createSrtpContext } from "../srtp.ts";
import { isMediaRelayError } from "./errors.ts";
import { type MediaSessionEvent, createMediaRelay } from "./media-relay.ts";
import type { MediaRelayControl } from "./relay-control.ts";
import { type TestPeer, TE101, audioSdp as sdp, rtp, settle, testPeer, until } from "../../../test/support/rtp-peer.ts";
import { type WorkerMediaRelay, createWorkerMediaRelay, splitPortRange } from "./worker-relay.ts";

const PROFILE = "AES_CM_128_HMAC_SHA1_80";

interface Mode {
  readonly name: string;
  readonly base: number;
  make(options: { readonly oneWayAfterMs?: number; readonly mediaTimeoutMs?: number }, portMin: number): MediaRelayControl;
  /** Brings the main side's copy of quality up to date (workers push it; the thread relay reads it live). */
  sync(relay: MediaRelayControl): Promise<void>;
  ports(relay: MediaRelayControl): Promise<number>;
}

const modes: readonly Mode[] = [
  {
    name: "main thread",
    base: 31600,
    make: (o, portMin) => createMediaRelay({ ...o, address: "127.0.0.1", portMin, portMax: portMin + 9 }),
    sync: async () => {},
    ports: async (r) => (r as ReturnType<typeof createMediaRelay>).portsInUse(),
  },
  {
    name: "worker threads",
    base: 31700,
    make: (o, portMin) => createWorkerMediaRelay({ ...o, address: "127.0.0.1", portMin, portMax: portMin + 19, workers: 2, reportIntervalMs: 0 }),
    sync: async (r) => {
      await (r as WorkerMediaRelay).portsInUse();
    },
    ports: (r) => (r as WorkerMediaRelay).portsInUse(),
  },
];

async function peers(n: number): Promise<TestPeer[]> {
  return Promise.all(Array.from({ length: n }, () => testPeer()));
}

/** A call anchored between a phone (leg a) and a gateway (leg b): the relay ports each one sends to. */
async function anchored(relay: MediaRelayControl, phone: TestPeer, gateway: TestPeer, formats = "0 101", legs?: Parameters<MediaRelayControl["createSession"]>[0]) {
  const call = relay.createSession(legs);
  const toGateway = await call.offer("a", sdp(phone.port, formats, TE101));
  const toPhone = await call.answer("b", sdp(gateway.port, formats, TE101));
  return { call, forPhone: readStreams(toPhone)[0]!.port, forGateway: readStreams(toGateway)[0]!.port };
}

for (const mode of modes) {
  describe(`media relay control (${mode.name})`, () => {
    it("anchors both legs, relays RTP both ways, reports quality and frees the ports at close", async () => {
      const relay = mode.make({}, mode.base);
      const [phone, gateway] = await peers(2);
      try {
        const { call, forPhone, forGateway } = await anchored(relay, phone!, gateway!);
        assert.equal(call.localPort("a"), forPhone);
        assert.equal(call.localPort("b"), forGateway);
        call.start();
        for (let i = 1; i <= 5; i++) {
          await phone!.send(rtp(i), forPhone);
          assert.deepEqual((await gateway!.next()).msg, rtp(i));
        }
        await gateway!.send(rtp(1, { ssrc: 9 }), forGateway);
        assert.deepEqual((await phone!.next()).msg, rtp(1, { ssrc: 9 }));
        await mode.sync(relay);
        const q = call.qualityReport();
        assert.equal(q?.a.received.packets, 5);
        assert.equal(q?.b.received.packets, 1);
        assert.equal(q?.a.codec, "PCMU");
        assert.ok((await mode.ports(relay)) > 0);
        await call.close();
        assert.equal(call.closed, true);
        assert.equal(await mode.ports(relay), 0);
      } finally {
        await Promise.all([phone!.close(), gateway!.close()]);
        await relay.close();
      }
    });

    it("transcodes PCMU to PCMA for a carrier that allows only PCMA", async () => {
      const relay = mode.make({}, mode.base + 10);
      const [phone, gateway] = await peers(2);
      try {
        const call = relay.createSession();
        const toGateway = await call.offer("a", sdp(phone!.port, "0"), { allow: [{ name: "PCMA" }] });
        assert.equal(toGateway.media[0]!.formats[0], "8"); // telephone-event is added for an rfc4733 leg
        const toPhone = await call.answer("b", sdp(gateway!.port, "8"));
        await phone!.send(rtp(1, { pt: 0, fill: 0x9c }), readStreams(toPhone)[0]!.port);
        const p = parseRtpPacket((await gateway!.next()).msg);
        assert.ok(p.ok);
        assert.equal(p.value.payloadType, 8);
        assert.ok(p.value.payload.every((o) => o === ULAW_TO_ALAW[0x9c]));
      } finally {
        await Promise.all([phone!.close(), gateway!.close()]);
        await relay.close();
      }
    });

    it("terminates SRTP on the PBX leg and relays plain RTP to an RTP-only carrier", async () => {
      const relay = mode.make({}, mode.base + 60);
      const [phone, gateway] = await peers(2);
      try {
        const call = relay.createSession({ legs: { a: { srtp: "required", dtmf: "rfc4733" }, b: { srtp: "off", dtmf: "rfc4733" } } });
        const phoneKey = generateSrtpMasterKey();
        const crypto = `a=crypto:${formatCrypto(sdesCryptoAttribute(1, PROFILE, phoneKey))}`;
        const toGateway = await call.offer("a", sdp(phone!.port, "0", [crypto], "RTP/SAVP"));
        assert.equal(toGateway.media[0]!.protocol, "RTP/AVP");
        const toPhone = await call.answer("b", sdp(gateway!.port, "0"));
        const ours = readStreams(toPhone)[0]!.crypto[0];
        assert.ok(ours !== undefined);
        const ourKey = sdesKeyOf(ours);
        assert.ok(ourKey.ok);
        const send = createSrtpContext(PROFILE, phoneKey);
        const recv = createSrtpContext(PROFILE, ourKey.value.key);
        assert.ok(send.ok && recv.ok);
        const wire = Buffer.alloc(172 + 10);
        assert.ok(send.value.protectRtp(rtp(1), wire).ok);
        await phone!.send(wire, readStreams(toPhone)[0]!.port);
        assert.deepEqual((await gateway!.next()).msg, rtp(1));
        await gateway!.send(rtp(2, { ssrc: 5 }), readStreams(toGateway)[0]!.port);
        const back = (await phone!.next()).msg;
        const clear = Buffer.alloc(back.length);
        const r = recv.value.unprotectRtp(back, clear);
        assert.ok(r.ok);
        assert.deepEqual(clear.subarray(0, r.value), rtp(2, { ssrc: 5 }));
      } finally {
        await Promise.all([phone!.close(), gateway!.close()]);
        await relay.close();
      }
    });

    it("refuses a codec mismatch with the typed error the call layer answers 488 to", async () => {
      const relay = mode.make({}, mode.base + 20);
      try {
        const call = relay.createSession();
        await assert.rejects(call.offer("a", sdp(40000, "0"), { allow: [{ name: "G729" }] }), (e) => isMediaRelayError(e, "MEDIA_CODEC_MISMATCH") && e.warnCode === 305);
        assert.equal(await mode.ports(relay), 0, "a refused offer holds no ports");
      } finally {
        await relay.close();
      }
    });

    it("reports RFC 4733 digits for an info leg and plays queued digits as events towards an rfc4733 leg", async () => {
      const relay = mode.make({}, mode.base + 30);
      const [phone, gateway] = await peers(2);
      try {
        const { call, forPhone } = await anchored(relay, phone!, gateway!, "0 101", { legs: { a: { srtp: "off", dtmf: "rfc4733" }, b: { srtp: "off", dtmf: "info" } } });
        const events: MediaSessionEvent[] = [];
        call.on((e) => events.push(e));
        call.start();
        const packets = dtmfPacketSequence({ event: 4, timestamp: 1600, duration: 800 });
        for (const [i, step] of packets.entries()) {
          const b = rtp(10 + i, { pt: 101, timestamp: step.timestamp, size: 16 });
          if (step.marker) b[1] = b[1]! | 0x80;
          marshalDtmfEvent(step.payload, b, 12);
          await phone!.send(b, forPhone);
        }
        await until(() => events.some((e) => e.type === "dtmf"), 2000);
        const digit = events.find((e) => e.type === "dtmf");
        assert.ok(digit?.type === "dtmf");
        assert.equal(digit.digit, "4");
        assert.equal(digit.fromLeg, "a");
        assert.equal(digit.relayed, false);
        assert.equal(await call.queueDtmf("a", "7", 100), true);
        const event = parseRtpPacket((await phone!.next(2000)).msg);
        assert.ok(event.ok);
        assert.equal(event.value.payloadType, 101);
        const payload = parseDtmfEvent(event.value.payload);
        assert.ok(payload.ok);
        assert.equal(payload.value.event, 7);
      } finally {
        await Promise.all([phone!.close(), gateway!.close()]);
        await relay.close();
      }
    });

    it("raises one-way when only one side sends after the answer, and media-timeout when both stop", async () => {
      const relay = mode.make({ oneWayAfterMs: 300, mediaTimeoutMs: 900 }, mode.base + 40);
      const [phone, gateway] = await peers(2);
      try {
        const { call, forPhone } = await anchored(relay, phone!, gateway!);
        const events: MediaSessionEvent[] = [];
        call.on((e) => events.push(e));
        call.start();
        await phone!.send(rtp(1), forPhone);
        await until(() => events.some((e) => e.type === "one-way"), 2000);
        assert.deepEqual(events.find((e) => e.type === "one-way"), { type: "one-way", silentLeg: "b", afterMs: 300, stream: 0 });
        await until(() => events.some((e) => e.type === "media-timeout"), 3000);
        assert.equal(call.onHold(), false);
      } finally {
        await Promise.all([phone!.close(), gateway!.close()]);
        await relay.close();
      }
    });

    it("knows a leg put on hold (sendonly) from its re-offer", async () => {
      const relay = mode.make({}, mode.base + 50);
      const [phone, gateway] = await peers(2);
      try {
        const { call } = await anchored(relay, phone!, gateway!);
        assert.equal(call.onHold(), false);
        await call.offer("a", sdp(phone!.port, "0 101", [...TE101, "a=sendonly"]));
        assert.equal(call.onHold(), true);
      } finally {
        await Promise.all([phone!.close(), gateway!.close()]);
        await relay.close();
      }
    });
  });
}

describe("worker relay: threads", () => {
  it("splits the port range into even-aligned slices of whole pairs", () => {
    assert.deepEqual(splitPortRange(20000, 20019, 2), [
      { portMin: 20000, portMax: 20009 },
      { portMin: 20010, portMax: 20019 },
    ]);
    assert.deepEqual(splitPortRange(20001, 20010, 3), [
      { portMin: 20002, portMax: 20003 },
      { portMin: 20004, portMax: 20005 },
      { portMin: 20006, portMax: 20010 },
    ]);
    // Fewer pairs than workers: one slice per pair.
    assert.equal(splitPortRange(20000, 20003, 8).length, 2);
  });

  it("pins sessions to the least loaded worker", async () => {
    const relay = createWorkerMediaRelay({ address: "127.0.0.1", portMin: 31800, portMax: 31819, workers: 2 });
    try {
      const s = [relay.createSession(), relay.createSession(), relay.createSession()];
      assert.deepEqual(s.map((x) => relay.workerOf(x.id)), [0, 1, 0]);
      await s[1]!.close();
      assert.equal(relay.workerOf(relay.createSession().id), 1);
      assert.throws(() => relay.createSession({ id: s[0]!.id }), (e) => isMediaRelayError(e, "MEDIA_BAD_OPTIONS"));
    } finally {
      await relay.close();
    }
  });

  it("a worker that dies is logged as a bug, its calls' media is released, and a new worker takes its ports", async () => {
    const errors: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (obj: object, msg: string) => errors.push({ obj: obj as Record<string, unknown>, msg }) };
    const relay = createWorkerMediaRelay({ address: "127.0.0.1", portMin: 31820, portMax: 31823, workers: 1, logger, reportIntervalMs: 0 });
    const [phone, gateway] = await peers(2);
    try {
      const { call, forPhone } = await anchored(relay, phone!, gateway!);
      const events: string[] = [];
      call.on((e) => events.push(e.type === "failed" ? `failed: ${e.reason}` : e.type));
      call.start();
      await phone!.send(rtp(1), forPhone);
      await gateway!.next();
      relay.crashWorker(0, "relay bug");
      await until(() => call.closed, 3000);
      assert.deepEqual(events, ["failed: media worker 0 died"], "the owner is told, so the call can end");
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.obj["bug"], true);
      assert.equal(errors[0]!.obj["callsLost"], 1);
      assert.match(String(errors[0]!.obj["err"]), /relay bug/);
      assert.equal(relay.activeSessions().length, 0);
      await call.close(); // the call layer still releases it: harmless
      // The range has room for one call only: the new worker can anchor one, so the old ports are free.
      const again = await anchored(relay, phone!, gateway!);
      await phone!.send(rtp(2), again.forPhone);
      assert.deepEqual((await gateway!.next(2000)).msg, rtp(2));
      await settle(20);
    } finally {
      await Promise.all([phone!.close(), gateway!.close()]);
      await relay.close();
    }
  });
});
