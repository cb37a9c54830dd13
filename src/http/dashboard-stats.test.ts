import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { CallDetailRecord } from "../ports/index.ts";
import { createMemoryStorage } from "../storage/index.ts";
import { createCallStats, mosOf } from "./dashboard-stats.ts";

const T0 = Date.parse("2026-01-31T12:00:00Z");

function cdr(id: string, startedAt: number, end: { answered?: boolean; status?: number; open?: boolean; mos?: number } = {}): CallDetailRecord {
  const answered = end.answered ?? false;
  const open = end.open ?? false;
  return {
    id,
    callId: `${id}@pbx`,
    direction: "outbound",
    customerId: "pbx",
    carrierId: "alpha",
    attempts: [],
    callerRaw: "+15550400001",
    calleeRaw: "+15551230000",
    callerE164: "+15550400001",
    calleeE164: "+15551230000",
    startedAt,
    ringingAt: null,
    answeredAt: answered ? startedAt + 1000 : null,
    endedAt: open ? null : startedAt + 5000,
    durationMs: answered && !open ? 4000 : 0,
    finalStatus: open ? null : (end.status ?? (answered ? 200 : 486)),
    q850Cause: null,
    disposition: open ? null : answered ? "answered" : "busy",
    hangupBy: null,
    endReason: null,
    ratePerMinute: null,
    cost: null,
    currency: null,
    trace: [],
    ...(end.mos === undefined
      ? {}
      : {
          media: {
            a: { codec: "PCMU", srtp: false, received: { packets: 200, lost: 0, jitterMs: 1, mos: end.mos }, sent: { packets: 200 } },
            b: { codec: "PCMU", srtp: false, received: { packets: 200, lost: 0, jitterMs: 1, mos: 4.4 }, sent: { packets: 200, mos: 4.3 } },
          },
        }),
  };
}

describe("dashboard call statistics", () => {
  test("counts attempts by minute, ASR over ended calls, MOS and failures by code", async () => {
    const { cdrs } = createMemoryStorage();
    let now = T0 + 10 * 60_000;
    await cdrs.close(cdr("a", T0 + 5 * 60_000, { answered: true, mos: 4.2 }));
    await cdrs.close(cdr("b", T0 + 5 * 60_000 + 10_000, { status: 486 }));
    await cdrs.close(cdr("c", T0 + 9 * 60_000, { answered: true, mos: 3.8 }));
    await cdrs.close(cdr("old", T0 - 5 * 60 * 60_000, { answered: true }));
    const stats = createCallStats({ cdrs, now: () => now, historyMinutes: 60, windowMinutes: 15 });
    await stats.poll(new Set());
    const f = stats.figures();
    assert.deepEqual({ started: f.started, ended: f.ended, answered: f.answered, asr: f.asr, mos: f.mos }, { started: 3, ended: 3, answered: 2, asr: 66.7, mos: 4 });
    assert.equal(f.callsPerMinute, 0.2);
    const h = stats.history();
    assert.equal(h.t.length, 60);
    assert.equal(h.calls.reduce((a, b) => a + b, 0), 3, "the record older than the history is left out");
    const minute5 = h.t.indexOf((T0 + 5 * 60_000) / 1000);
    assert.equal(h.calls[minute5], 2);
    assert.equal(h.asr[minute5], 50);
    assert.deepEqual(Object.keys(h.failures), ["486"]);
    assert.equal(h.failures["486"]?.[minute5], 1);
    // Polling again counts nothing twice.
    now += 1000;
    await stats.poll(new Set());
    assert.equal(stats.figures().started, 3);
  });

  test("an open record is counted when its call has left the call layer and its row is closed", async () => {
    const { cdrs } = createMemoryStorage();
    let now = T0;
    const stats = createCallStats({ cdrs, now: () => now });
    await stats.poll(new Set());
    await cdrs.open(cdr("live", T0 + 500, { open: true, answered: true }));
    now = T0 + 2000;
    await stats.poll(new Set(["live"]));
    assert.deepEqual(stats.parties("live"), { caller: "+15550400001", callee: "+15551230000" });
    assert.equal(stats.figures().started, 1);
    assert.equal(stats.figures().ended, 0);
    await cdrs.close(cdr("live", T0 + 500, { answered: true }));
    now = T0 + 60_000;
    // Far past the slack: only the read by id can see the close.
    await stats.poll(new Set());
    assert.equal(stats.figures().ended, 1);
    assert.equal(stats.figures().answered, 1);
    assert.equal(stats.parties("live"), undefined);
  });

  test("MOS is the worst leg and direction of the CDR's media quality; none without relayed media", () => {
    assert.equal(mosOf(cdr("x", T0, { answered: true, mos: 3.9 })), 3.9);
    assert.equal(mosOf(cdr("y", T0, { answered: true })), null);
    const best = cdr("z", T0, { answered: true, mos: 4.41 });
    assert.equal(mosOf(best), 4.3, "the lowest estimate wins");
    // A MOS in the trace is not a media measurement any more.
    assert.equal(mosOf({ ...cdr("t", T0, { answered: true }), trace: [{ at: T0, step: "end", result: "info", detail: "", data: { mos: 4 } }] }), null);
    const silent = cdr("s", T0, { answered: true });
    assert.equal(mosOf({ ...silent, media: { a: { srtp: false, received: { packets: 0 }, sent: { packets: 0 } }, b: { srtp: false, received: { packets: 0 }, sent: { packets: 0 } } } }), null);
  });
});
