// The CdrRepository contract: every implementation runs this same suite.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import type { CallDetailRecord, Storage } from "../ports/index.ts";
import { createMemoryStorage, INTERRUPTED_REASON, openSqliteStorage } from "./index.ts";

const T0 = Date.UTC(2026, 0, 1);

/** An answered outbound call from acme through alpha, ended normally, unless told otherwise. */
function cdr(over: Partial<CallDetailRecord> & { readonly id: string }): CallDetailRecord {
  return {
    callId: `${over.id}@192.0.2.10`,
    direction: "outbound",
    customerId: "acme",
    carrierId: "alpha",
    attempts: [{ target: "sip:+12125550100@198.51.100.1", carrierId: "alpha", gatewayId: "alpha-gw1", startedAt: T0, endedAt: T0 + 61_000, status: 200, outcome: "answered" }],
    callerRaw: "2025550111",
    calleeRaw: "12125550100",
    callerE164: "+12025550111",
    calleeE164: "+12125550100",
    startedAt: T0,
    ringingAt: T0 + 500,
    answeredAt: T0 + 1000,
    endedAt: T0 + 61_000,
    durationMs: 60_000,
    finalStatus: 200,
    q850Cause: 16,
    disposition: "answered",
    hangupBy: "caller",
    endReason: "BYE from caller",
    ratePerMinute: 0.004,
    cost: 0.004,
    currency: "USD",
    trace: [
      { at: T0, step: "identify", result: "pass", detail: "source address in 192.0.2.0/24 of customer acme", data: { cidr: "192.0.2.0/24" } },
      { at: T0 + 1, step: "route", result: "info", detail: "route +1: alpha", data: { carriers: 1, lcr: false, none: null } },
    ],
    ...over,
  };
}

/** The same call while in progress: nothing ended yet. */
function opened(id: string, over: Partial<CallDetailRecord> = {}): CallDetailRecord {
  return cdr({ id, endedAt: null, durationMs: 0, finalStatus: null, q850Cause: null, disposition: null, hangupBy: null, endReason: null, cost: null, ...over });
}

const dir = mkdtempSync(join(tmpdir(), "trunkline-cdrs-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

const implementations: ReadonlyArray<readonly [string, () => Storage]> = [
  ["memory", () => createMemoryStorage()],
  ["sqlite file", () => openSqliteStorage({ path: join(dir, `c${fileNo++}.db`) })],
  ["sqlite :memory:", () => openSqliteStorage({ path: ":memory:" })],
];

for (const [name, open] of implementations) {
  describe(`CdrRepository contract: ${name}`, () => {
    let storage: Storage;
    beforeEach(() => {
      storage = open();
    });
    afterEach(async () => {
      await storage.close();
    });

    it("returns nothing for an unknown id", async () => {
      assert.equal(await storage.cdrs.get("nope"), undefined);
    });

    it("returns an open record, then the closed one that replaced it, field for field", async () => {
      await storage.cdrs.open(opened("c1"));
      assert.deepEqual(await storage.cdrs.get("c1"), opened("c1"));
      await storage.cdrs.close(cdr({ id: "c1" }));
      assert.deepEqual(await storage.cdrs.get("c1"), cdr({ id: "c1" }));
      assert.equal((await storage.cdrs.search({})).total, 1);
    });

    it("keeps nulls and an inbound call without customer or carrier", async () => {
      const r = cdr({ id: "in", direction: "inbound", customerId: null, carrierId: null, callerE164: null, attempts: [], trace: [], ratePerMinute: null, cost: null, currency: null });
      await storage.cdrs.close(r);
      assert.deepEqual(await storage.cdrs.get("in"), r);
    });

    it("closes only open records as interrupted at the given time, once", async () => {
      await storage.cdrs.open(opened("o1", { answeredAt: T0 + 1000 }));
      await storage.cdrs.open(opened("o2", { answeredAt: null, endReason: "CANCEL received" }));
      await storage.cdrs.open(opened("done"));
      await storage.cdrs.close(cdr({ id: "done" }));
      assert.equal(await storage.cdrs.closeInterrupted(T0 + 90_000), 2);
      assert.deepEqual(await storage.cdrs.get("o1"), {
        ...opened("o1", { answeredAt: T0 + 1000 }),
        endedAt: T0 + 90_000,
        disposition: "interrupted",
        hangupBy: "system",
        endReason: INTERRUPTED_REASON,
      });
      assert.equal((await storage.cdrs.get("o2"))?.endReason, "CANCEL received");
      assert.deepEqual(await storage.cdrs.get("done"), cdr({ id: "done" }));
      assert.equal(await storage.cdrs.closeInterrupted(T0 + 100_000), 0);
    });

    it("searches newest first with filters, paging and the total of every match", async () => {
      const rows = [
        cdr({ id: "a", startedAt: T0 + 1000 }),
        cdr({ id: "b", startedAt: T0 + 2000, customerId: "globex", disposition: "busy", calleeRaw: "+442071234567", calleeE164: "+442071234567" }),
        cdr({ id: "c", startedAt: T0 + 3000, carrierId: "beta" }),
        cdr({ id: "d", startedAt: T0 + 3000, direction: "inbound", customerId: "globex", carrierId: "beta", disposition: "no-answer" }),
        cdr({ id: "e", startedAt: T0 + 5000, disposition: "refused", carrierId: null, callerRaw: "anonymous", callerE164: null }),
      ];
      for (const r of rows) await storage.cdrs.close(r);
      const ids = async (q: Parameters<Storage["cdrs"]["search"]>[0]): Promise<[string[], number]> => {
        const res = await storage.cdrs.search(q);
        return [res.rows.map((r) => r.id), res.total];
      };
      assert.deepEqual(await ids({}), [["e", "d", "c", "b", "a"], 5]);
      assert.deepEqual(await ids({ limit: 2 }), [["e", "d"], 5]);
      assert.deepEqual(await ids({ limit: 2, offset: 2 }), [["c", "b"], 5]);
      assert.deepEqual(await ids({ offset: 10 }), [[], 5]);
      assert.deepEqual(await ids({ from: T0 + 2000, to: T0 + 5000 }), [["d", "c", "b"], 3]);
      assert.deepEqual(await ids({ trunkId: "globex" }), [["d", "b"], 2]);
      assert.deepEqual(await ids({ trunkId: "beta" }), [["d", "c"], 2]);
      assert.deepEqual(await ids({ trunkId: "alpha", limit: 1 }), [["b"], 2]);
      assert.deepEqual(await ids({ disposition: "busy" }), [["b"], 1]);
      assert.deepEqual(await ids({ number: "2071234" }), [["b"], 1]);
      assert.deepEqual(await ids({ number: "anonymous" }), [["e"], 1]);
      assert.deepEqual(await ids({ number: "+1202" }), [["d", "c", "b", "a"], 4]);
      assert.deepEqual(await ids({ number: "%" }), [[], 0]);
      assert.deepEqual(await ids({ trunkId: "globex", disposition: "no-answer", from: T0 }), [["d"], 1]);
      const [withTrace] = (await storage.cdrs.search({ disposition: "busy" })).rows;
      assert.equal(withTrace?.trace.length, 2);
    });

    it("writes many concurrent records and all are found", async () => {
      await Promise.all(Array.from({ length: 500 }, (_, i) => storage.cdrs.open(opened(`p${i}`, { startedAt: T0 + i }))));
      await Promise.all(Array.from({ length: 500 }, (_, i) => storage.cdrs.close(cdr({ id: `p${i}`, startedAt: T0 + i }))));
      assert.equal((await storage.cdrs.search({ disposition: "answered" })).total, 500);
      assert.equal(await storage.cdrs.closeInterrupted(T0), 0);
    });
  });
}

describe("SQLite CDRs across restarts", () => {
  it("a reopened file keeps closed CDRs; a record left open by a crash becomes interrupted", async () => {
    const path = join(dir, "crash.db");
    const first = openSqliteStorage({ path });
    await first.cdrs.close(cdr({ id: "kept" }));
    await first.cdrs.open(opened("in-flight", { answeredAt: T0 + 1000 }));
    // The "crash": the database goes away while the call is still up; close() is never called.
    first.db.close();

    const second = openSqliteStorage({ path });
    try {
      assert.deepEqual(second.migrationsApplied, []);
      assert.deepEqual(await second.cdrs.get("kept"), cdr({ id: "kept" }));
      assert.equal((await second.cdrs.get("in-flight"))?.endedAt, null);
      assert.equal(await second.cdrs.closeInterrupted(T0 + 120_000), 1);
      const r = await second.cdrs.get("in-flight");
      assert.equal(r?.disposition, "interrupted");
      assert.equal(r?.endedAt, T0 + 120_000);
    } finally {
      await second.close();
    }
  });

  it("writes queued for the next group commit are flushed by storage.close()", async () => {
    const path = join(dir, "flush.db");
    const first = openSqliteStorage({ path });
    const pending = first.cdrs.close(cdr({ id: "late" }));
    await first.close();
    await pending;
    const second = openSqliteStorage({ path });
    try {
      assert.equal((await second.cdrs.get("late"))?.id, "late");
    } finally {
      await second.close();
    }
  });

  it("a record the database refuses rejects alone with STORAGE_QUERY_FAILED; its batch-mates are written", async () => {
    const s = openSqliteStorage({ path: ":memory:" });
    try {
      // A CHECK violation the types cannot express: an out-of-range direction smuggled in as JSON would be a bug upstream.
      const bad = { ...cdr({ id: "bad" }), direction: "sideways" } as unknown as CallDetailRecord;
      const results = await Promise.allSettled([s.cdrs.close(cdr({ id: "ok1" })), s.cdrs.close(bad), s.cdrs.close(cdr({ id: "ok2" }))]);
      assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
      const reason: unknown = results[1]?.status === "rejected" ? results[1].reason : undefined;
      assert.ok(reason instanceof Error && "code" in reason && reason.code === "STORAGE_QUERY_FAILED" && reason.cause instanceof Error);
      assert.equal((await s.cdrs.search({})).total, 2);
    } finally {
      await s.close();
    }
  });
});
