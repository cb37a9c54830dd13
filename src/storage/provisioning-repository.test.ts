// The ProvisioningRepository contract: every implementation runs this same suite.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import { defaultFailoverPolicy, type Provisioning } from "../domain/index.ts";
import type { Storage } from "../ports/index.ts";
import { createMemoryStorage, openSqliteStorage } from "./index.ts";

// Computed here, not with the code under test: HA1 = H(user:realm:password) (RFC 7616 3.4.2).
const md5 = (text: string): string => createHash("md5").update(text).digest("hex");
const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");
const ACME_HASHED = { username: "acme", realm: "trunkline", ha1: md5("acme:trunkline:s3cret"), ha1Sha256: sha256("acme:trunkline:s3cret") };

const FULL: Provisioning = {
  customers: [
    {
      id: "acme",
      name: "Acme Corp",
      identification: { cidrs: ["192.0.2.0/24"], credentials: [ACME_HASHED], requireBoth: true },
      mode: { kind: "static", uri: "sip:192.0.2.10:5060" },
      dids: [{ kind: "range", from: "+15550100000", to: "+15550100099" }, { kind: "number", number: "+442071234567" }],
      limits: { channels: 10, cps: 2.5, overLimitStatus: 486 },
      outbound: { allowedPrefixes: ["+1", "+44"], deniedPrefixes: ["+1900"], callerId: "own-dids" },
      failover: { uris: ["sip:backup.acme.example"], forwardTo: "+15550199999", policy: defaultFailoverPolicy(3000) },
      numbering: { format: "national", countryCode: "44", nationalPrefix: "0" },
    },
    {
      id: "globex",
      name: "globex",
      identification: { cidrs: [], credentials: [{ username: "globex", ha1: "0123456789abcdef0123456789abcdef", realm: "trunkline" }] },
      mode: { kind: "registration" },
      dids: [],
      limits: {},
      outbound: { allowedPrefixes: ["+"], callerId: "any" },
      failover: { uris: [], policy: defaultFailoverPolicy() },
      numbering: { format: "e164-plus", countryCode: "1" },
    },
  ],
  carriers: [
    {
      id: "alpha",
      name: "Alpha",
      gateways: [
        { id: "alpha-gw1", uri: "sip:198.51.100.1", transport: "udp", priority: 1, weight: 2 },
        { id: "alpha-gw2", uri: "sips:198.51.100.2", transport: "tls", priority: 2, weight: 1 },
      ],
      sourceCidrs: ["198.51.100.0/24"],
      credentials: { username: "us", password: "p" },
      registration: { registrar: "sip:reg.alpha.example", expiresSeconds: 600 },
      numbering: { format: "e164", countryCode: "1", techPrefix: "99#" },
      limits: { channels: 100 },
      failover: defaultFailoverPolicy(),
    },
  ],
  routes: [
    { id: "+1", prefix: "1", ordering: "priority", carriers: [{ carrierId: "alpha", priority: 1, weight: 1 }] },
    { id: "default", prefix: "", ordering: "cost", carriers: [{ carrierId: "alpha", priority: 1, weight: 1 }] },
  ],
  rateDecks: [{ carrierId: "alpha", currency: "USD", entries: [{ prefix: "1", pricePerMinute: 0.004 }, { prefix: "44", pricePerMinute: 0.01 }] }],
};

const dir = mkdtempSync(join(tmpdir(), "trunkline-provisioning-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

const implementations: ReadonlyArray<readonly [string, () => Storage]> = [
  ["memory", () => createMemoryStorage()],
  ["sqlite file", () => openSqliteStorage({ path: join(dir, `p${fileNo++}.db`) })],
];

for (const [name, open] of implementations) {
  describe(`ProvisioningRepository contract: ${name}`, () => {
    let storage: Storage;
    beforeEach(() => {
      storage = open();
    });
    afterEach(async () => {
      await storage.close();
    });

    it("starts empty", async () => {
      assert.deepEqual(await storage.provisioning.load(), { customers: [], carriers: [], routes: [], rateDecks: [] });
    });

    it("returns what was stored, field for field and in order", async () => {
      await storage.provisioning.replace(FULL);
      assert.deepEqual(await storage.provisioning.load(), FULL);
    });

    it("keeps no customer password, only its MD5 and SHA-256 HA1 in the realm; a carrier's password stays", async () => {
      const plain = structuredClone(FULL) as { customers: Array<{ identification: { credentials: unknown[] } }> } & Provisioning;
      plain.customers[0]!.identification.credentials = [{ username: "acme", password: "s3cret" }];
      await storage.provisioning.replace(plain);
      const got = await storage.provisioning.load();
      assert.deepEqual(got.customers[0]?.identification.credentials, [ACME_HASHED]);
      assert.equal(JSON.stringify(got.customers).includes("s3cret"), false);
      assert.deepEqual(got.carriers[0]?.credentials, { username: "us", password: "p" });
    });

    it("replaces the whole set, dropping what the new one lacks", async () => {
      await storage.provisioning.replace(FULL);
      const smaller: Provisioning = { ...FULL, customers: [FULL.customers[1]!], routes: [], rateDecks: [] };
      await storage.provisioning.replace(smaller);
      assert.deepEqual(await storage.provisioning.load(), smaller);
    });

    it("is not changed by callers mutating what they passed or got", async () => {
      const mine = structuredClone(FULL);
      await storage.provisioning.replace(mine);
      (mine.customers as unknown[]).length = 0;
      const got = await storage.provisioning.load();
      (got.carriers as unknown[]).length = 0;
      assert.deepEqual(await storage.provisioning.load(), FULL);
    });
  });
}

describe("SQLite provisioning", () => {
  it("keeps the old set when a replace fails part-way (atomic)", async () => {
    const s = openSqliteStorage({ path: ":memory:" });
    try {
      await s.provisioning.replace(FULL);
      // Two customers with one id break the primary key after the first row was written.
      const broken: Provisioning = { ...FULL, customers: [FULL.customers[0]!, FULL.customers[0]!] };
      await assert.rejects(s.provisioning.replace(broken), (e: unknown) => e instanceof Error && "code" in e && e.code === "STORAGE_QUERY_FAILED");
      assert.deepEqual(await s.provisioning.load(), FULL);
    } finally {
      await s.close();
    }
  });

  it("writes no customer password into the database file (every row of every table read back)", async () => {
    const path = join(dir, "no-password.db");
    const s = openSqliteStorage({ path, realm: "example.net" });
    const plain = structuredClone(FULL) as { customers: Array<{ identification: { credentials: unknown[] } }> } & Provisioning;
    plain.customers[0]!.identification.credentials = [{ username: "acme", password: "Sup3r-Secret-Value" }];
    await s.provisioning.replace(plain);
    const rows: string[] = [];
    for (const { name } of s.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all()) {
      for (const row of s.db.prepare(`SELECT * FROM "${name}"`).all()) rows.push(JSON.stringify(row));
    }
    await s.close();
    const all = rows.join("\n");
    assert.equal(all.includes("Sup3r-Secret-Value"), false);
    assert.equal(all.includes(md5("acme:example.net:Sup3r-Secret-Value")), true);
    assert.equal(all.includes(sha256("acme:example.net:Sup3r-Secret-Value")), true);
  });

  it("survives a reopen", async () => {
    const path = join(dir, "reopen.db");
    const first = openSqliteStorage({ path });
    await first.provisioning.replace(FULL);
    await first.close();
    const second = openSqliteStorage({ path });
    try {
      assert.deepEqual(await second.provisioning.load(), FULL);
    } finally {
      await second.close();
    }
  });
});
