// The BindingRepository contract: every implementation runs this same suite.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import type { Binding, BindingRepository, Storage } from "../ports/index.ts";
import { createMemoryStorage, openSqliteStorage } from "./index.ts";

const T0 = Date.UTC(2026, 0, 1);

function binding(over: Partial<Binding> = {}): Binding {
  return {
    aor: "sip:alice@pbx.example.com",
    contact: "sip:alice@192.0.2.10:5060",
    expiresAt: T0 + 3600_000,
    receivedFrom: { address: "192.0.2.10", port: 5060, transport: "udp" },
    callId: "reg-1@192.0.2.10",
    cseq: 1,
    ...over,
  };
}

const dir = mkdtempSync(join(tmpdir(), "trunkline-bindings-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

const implementations: ReadonlyArray<readonly [string, () => Storage]> = [
  ["memory", () => createMemoryStorage()],
  ["sqlite file", () => openSqliteStorage({ path: join(dir, `b${fileNo++}.db`) })],
  ["sqlite :memory:", () => openSqliteStorage({ path: ":memory:" })],
];

for (const [name, open] of implementations) {
  describe(`BindingRepository contract: ${name}`, () => {
    let storage: Storage;
    let repo: BindingRepository;
    beforeEach(async () => {
      storage = open();
      repo = storage.bindings;
    });
    afterEach(async () => {
      await storage.close();
    });

    it("lists nothing for an unknown AOR", async () => {
      assert.deepEqual(await repo.list("sip:nobody@example.com", T0), []);
    });

    it("returns what was stored, field for field", async () => {
      const b = binding({ q: 0.5, receivedFrom: { address: "2001:db8::1", port: 40000, transport: "tls" } });
      await repo.upsert(b);
      assert.deepEqual(await repo.list(b.aor, T0), [b]);
    });

    it("leaves q absent when none was given", async () => {
      await repo.upsert(binding());
      const [got] = await repo.list(binding().aor, T0);
      assert.equal(got?.q, undefined);
      assert.equal(got !== undefined && "q" in got, false);
    });

    it("replaces a binding with the same AOR and contact (refresh)", async () => {
      await repo.upsert(binding());
      const refreshed = binding({ expiresAt: T0 + 7200_000, cseq: 2, receivedFrom: { address: "198.51.100.7", port: 5070, transport: "tcp" } });
      await repo.upsert(refreshed);
      assert.deepEqual(await repo.list(refreshed.aor, T0), [refreshed]);
    });

    it("keeps AORs apart", async () => {
      await repo.upsert(binding());
      await repo.upsert(binding({ aor: "sip:bob@pbx.example.com" }));
      assert.equal((await repo.list("sip:alice@pbx.example.com", T0)).length, 1);
      assert.equal((await repo.list("sip:bob@pbx.example.com", T0)).length, 1);
    });

    it("orders by q descending (absent = 1.0), then by contact", async () => {
      await repo.upsert(binding({ contact: "sip:c@192.0.2.3", q: 0.1 }));
      await repo.upsert(binding({ contact: "sip:b@192.0.2.2" }));
      await repo.upsert(binding({ contact: "sip:a@192.0.2.1", q: 0.7 }));
      await repo.upsert(binding({ contact: "sip:d@192.0.2.4", q: 1 }));
      const contacts = (await repo.list(binding().aor, T0)).map((b) => b.contact);
      assert.deepEqual(contacts, ["sip:b@192.0.2.2", "sip:d@192.0.2.4", "sip:a@192.0.2.1", "sip:c@192.0.2.3"]);
    });

    it("hides bindings at or past their expiry", async () => {
      await repo.upsert(binding({ contact: "sip:x@192.0.2.1", expiresAt: T0 + 1000 }));
      await repo.upsert(binding({ contact: "sip:y@192.0.2.2", expiresAt: T0 + 2000 }));
      assert.equal((await repo.list(binding().aor, T0 + 999)).length, 2);
      assert.deepEqual(
        (await repo.list(binding().aor, T0 + 1000)).map((b) => b.contact),
        ["sip:y@192.0.2.2"],
      );
      assert.deepEqual(await repo.list(binding().aor, T0 + 2000), []);
    });

    it("removes one binding and says whether it existed", async () => {
      await repo.upsert(binding({ contact: "sip:x@192.0.2.1" }));
      await repo.upsert(binding({ contact: "sip:y@192.0.2.2" }));
      assert.equal(await repo.remove(binding().aor, "sip:x@192.0.2.1"), true);
      assert.equal(await repo.remove(binding().aor, "sip:x@192.0.2.1"), false);
      assert.equal(await repo.remove("sip:nobody@example.com", "sip:x@192.0.2.1"), false);
      assert.deepEqual(
        (await repo.list(binding().aor, T0)).map((b) => b.contact),
        ["sip:y@192.0.2.2"],
      );
    });

    it("removes every binding of one AOR only (Contact: *)", async () => {
      await repo.upsert(binding({ contact: "sip:x@192.0.2.1" }));
      await repo.upsert(binding({ contact: "sip:y@192.0.2.2" }));
      await repo.upsert(binding({ aor: "sip:bob@pbx.example.com" }));
      assert.equal(await repo.removeAll(binding().aor), 2);
      assert.equal(await repo.removeAll(binding().aor), 0);
      assert.deepEqual(await repo.list(binding().aor, T0), []);
      assert.equal((await repo.list("sip:bob@pbx.example.com", T0)).length, 1);
    });

    it("purges expired bindings across AORs and counts them", async () => {
      await repo.upsert(binding({ contact: "sip:x@192.0.2.1", expiresAt: T0 + 1000 }));
      await repo.upsert(binding({ aor: "sip:bob@pbx.example.com", expiresAt: T0 + 500 }));
      await repo.upsert(binding({ contact: "sip:y@192.0.2.2", expiresAt: T0 + 5000 }));
      assert.equal(await repo.purgeExpired(T0 + 1000), 2);
      assert.equal(await repo.purgeExpired(T0 + 1000), 0);
      assert.deepEqual(
        (await repo.list(binding().aor, T0)).map((b) => b.contact),
        ["sip:y@192.0.2.2"],
      );
      assert.deepEqual(await repo.list("sip:bob@pbx.example.com", T0), []);
    });

    it("is not affected by the caller mutating an object after storing or reading it", async () => {
      const b = { ...binding(), receivedFrom: { ...binding().receivedFrom } };
      await repo.upsert(b);
      b.receivedFrom.port = 1;
      const [got] = await repo.list(b.aor, T0);
      assert.equal(got?.receivedFrom.port, 5060);
      if (got !== undefined) (got.receivedFrom as { port: number }).port = 2;
      assert.equal((await repo.list(b.aor, T0))[0]?.receivedFrom.port, 5060);
    });
  });
}
