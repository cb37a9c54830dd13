// The BanRepository and FraudSuspensionRepository contracts: every implementation runs this suite.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import type { BanEntry } from "../domain/index.ts";
import type { Storage } from "../ports/index.ts";
import { createMemoryStorage, openSqliteStorage } from "./index.ts";

const T0 = Date.UTC(2026, 10, 24);

function ban(address: string, over: Partial<BanEntry> = {}): BanEntry {
  return { address, rule: "rate-invite", reason: "flood", origin: "auto", createdAt: T0, expiresAt: T0 + 600_000, offence: 1, ...over };
}

const dir = mkdtempSync(join(tmpdir(), "trunkline-bans-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

const implementations: ReadonlyArray<readonly [string, () => Storage]> = [
  ["memory", () => createMemoryStorage()],
  ["sqlite file", () => openSqliteStorage({ path: join(dir, `b${fileNo++}.db`) })],
];

for (const [name, open] of implementations) {
  describe(`BanRepository contract: ${name}`, () => {
    let storage: Storage;
    beforeEach(() => {
      storage = open();
    });
    afterEach(async () => storage.close());

    it("saves, replaces, removes, and loads only bans in force (dropping expired ones)", async () => {
      await storage.bans.save(ban("192.0.2.1"));
      await storage.bans.save(ban("2001:db8::1", { origin: "manual", rule: "manual", expiresAt: null }));
      await storage.bans.save(ban("192.0.2.2", { expiresAt: T0 + 1000 }));
      await storage.bans.save(ban("192.0.2.1", { offence: 2, expiresAt: T0 + 1_200_000 }));
      const loaded = await storage.bans.loadActive(T0 + 5000);
      assert.deepEqual(
        loaded.map((b) => [b.address, b.offence, b.expiresAt]),
        [
          ["192.0.2.1", 2, T0 + 1_200_000],
          ["2001:db8::1", 1, null],
        ],
      );
      assert.deepEqual(loaded[1], ban("2001:db8::1", { origin: "manual", rule: "manual", expiresAt: null }));
      await storage.bans.remove("192.0.2.1");
      await storage.bans.remove("198.51.100.1");
      assert.deepEqual((await storage.bans.loadActive(T0)).map((b) => b.address), ["2001:db8::1"], "expired 192.0.2.2 was dropped by the earlier load");
    });

    it("keeps fraud suspensions until removed", async () => {
      await storage.fraudSuspensions.save({ customerId: "acme", at: T0, rule: "sequential-dialing", reason: "10 numbers in +1212555010x" });
      await storage.fraudSuspensions.save({ customerId: "globex", at: T0 + 1, rule: "burst", reason: "burst" });
      assert.deepEqual((await storage.fraudSuspensions.list()).map((s) => [s.customerId, s.rule]), [
        ["acme", "sequential-dialing"],
        ["globex", "burst"],
      ]);
      await storage.fraudSuspensions.remove("acme");
      assert.deepEqual((await storage.fraudSuspensions.list()).map((s) => s.customerId), ["globex"]);
    });
  });
}

describe("bans in a SQLite file survive reopening", () => {
  it("a reopened database still has the ban", async () => {
    const path = join(dir, "reopen.db");
    const first = openSqliteStorage({ path });
    await first.bans.save(ban("203.0.113.9", { expiresAt: null, origin: "manual", rule: "manual" }));
    await first.fraudSuspensions.save({ customerId: "acme", at: T0, rule: "sequential-dialing", reason: "scan" });
    await first.close();
    const second = openSqliteStorage({ path });
    try {
      assert.deepEqual((await second.bans.loadActive(T0)).map((b) => b.address), ["203.0.113.9"]);
      assert.deepEqual((await second.fraudSuspensions.list()).map((s) => s.customerId), ["acme"]);
    } finally {
      await second.close();
    }
  });
});
