import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type DtmfEvent,
  DtmfReceiver,
  dtmfDigit,
  dtmfEventCode,
  dtmfPacketSequence,
  marshalDtmfEvent,
  parseDtmfEvent,
} from "./dtmf-event.ts";

const cases: { name: string; raw: number[]; event: DtmfEvent }[] = [
  {
    name: "digit 5, start",
    raw: [
      0x05, // event 5
      0x0a, // E=0 R=0 volume 10
      0x00, 0xa0, // duration 160
    ],
    event: { event: 5, end: false, volume: 10, duration: 160 },
  },
  {
    name: "#, end",
    raw: [
      0x0b, // event 11 ('#')
      0x8a, // E=1 R=0 volume 10
      0x03, 0x20, // duration 800
    ],
    event: { event: 11, end: true, volume: 10, duration: 800 },
  },
  {
    name: "flash, loudest, longest",
    raw: [
      0x10, // event 16 (flash)
      0x80, // E=1 volume 0
      0xff, 0xff, // duration 65535
    ],
    event: { event: 16, end: true, volume: 0, duration: 65535 },
  },
];

test("telephone-event payload parses and marshals symmetrically", () => {
  for (const c of cases) {
    const r = parseDtmfEvent(Uint8Array.from(c.raw));
    assert.ok(r.ok, c.name);
    assert.deepEqual(r.value, c.event, c.name);
    const out = new Uint8Array(4);
    assert.equal(marshalDtmfEvent(c.event, out), 4);
    assert.deepEqual([...out], c.raw, c.name);
  }
  const short = parseDtmfEvent(Uint8Array.from([1, 2, 3]));
  assert.ok(!short.ok);
  assert.equal(short.error, "DTMF_TOO_SHORT");
  assert.equal(marshalDtmfEvent(cases[0]!.event, new Uint8Array(3)), -1);
});

test("digit characters map to RFC 4733 event codes", () => {
  const map: [string, number][] = [["0", 0], ["9", 9], ["*", 10], ["#", 11], ["A", 12], ["d", 15], ["!", 16]];
  for (const [d, e] of map) assert.equal(dtmfEventCode(d), e, d);
  assert.equal(dtmfEventCode("x"), undefined);
  assert.equal(dtmfEventCode("12"), undefined);
  assert.equal(dtmfDigit(11), "#");
  assert.equal(dtmfDigit(40), undefined);
});

test("generated sequence: marker first, growing duration, three end packets", () => {
  const plan = dtmfPacketSequence({ event: 1, timestamp: 8000, duration: 800 });
  assert.deepEqual(
    plan.map((p) => [p.marker, p.timestamp, p.payload.duration, p.payload.end]),
    [
      [true, 8000, 160, false],
      [false, 8000, 320, false],
      [false, 8000, 480, false],
      [false, 8000, 640, false],
      [false, 8000, 800, true],
      [false, 8000, 800, true],
      [false, 8000, 800, true],
    ],
  );
  // Shorter than one interval: the end packet is also the first, so it carries the marker.
  const tiny = dtmfPacketSequence({ event: 2, timestamp: 0, duration: 100 });
  assert.deepEqual(tiny.map((p) => [p.marker, p.payload.end]), [[true, true], [false, true], [false, true]]);
});

test("receiver reports each digit once despite retransmitted end packets", () => {
  const rx = new DtmfReceiver();
  const digits: string[] = [];
  const feed = (ts: number, e: DtmfEvent): void => {
    for (const d of rx.push(ts, e)) {
      digits.push(`${d.digit}:${d.duration}:${d.ended}`);
    }
  };
  for (const [event, ts] of [[1, 1000], [11, 3000]] as const) {
    for (const p of dtmfPacketSequence({ event, timestamp: ts, duration: 800 })) feed(p.timestamp, p.payload);
  }
  assert.deepEqual(digits, ["1:800:true", "#:800:true"]);
  // A late end retransmission of the first digit changes nothing.
  feed(1000, { event: 1, end: true, volume: 10, duration: 800 });
  assert.deepEqual(digits.length, 2);
  assert.equal(rx.flush(), undefined);
});

test("receiver closes an event whose end packets were lost", () => {
  const rx = new DtmfReceiver();
  assert.deepEqual(rx.push(100, { event: 3, end: false, volume: 10, duration: 160 }), []);
  assert.deepEqual(rx.push(100, { event: 3, end: false, volume: 10, duration: 320 }), []);
  const next = rx.push(2000, { event: 4, end: false, volume: 10, duration: 160 });
  assert.equal(next.length, 1);
  assert.deepEqual({ digit: next[0]!.digit, duration: next[0]!.duration, ended: next[0]!.ended }, { digit: "3", duration: 320, ended: false });
  const last = rx.flush();
  assert.equal(last?.digit, "4");
  assert.equal(last?.ended, false);
});

test("receiver follows the RTP timestamp across its wrap", () => {
  const rx = new DtmfReceiver();
  const out: string[] = [];
  for (const ts of [0xffffff00, 0x00000100]) {
    for (const p of dtmfPacketSequence({ event: 7, timestamp: ts, duration: 320 })) {
      for (const d of rx.push(p.timestamp, p.payload)) out.push(d.digit ?? "?");
    }
  }
  assert.deepEqual(out, ["7", "7"]);
});
