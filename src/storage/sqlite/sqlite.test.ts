import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { StorageError } from "../errors.ts";
import { openStorage } from "../index.ts";
import { MIGRATIONS, openSqliteStorage, runMigrations, type Migration } from "./index.ts";

const dir = mkdtempSync(join(tmpdir(), "trunkline-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2026, 0, 1);

describe("SQLite storage", () => {
  it("creates the folder, uses WAL and synchronous=FULL", async () => {
    const path = join(dir, "nested", "deeper", "t.db");
    const s = openSqliteStorage({ path });
    try {
      assert.ok(existsSync(path));
      assert.equal(s.db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(s.db.pragma("synchronous", { simple: true }), 2); // 2 = FULL
    } finally {
      await s.close();
    }
  });

  it("applies migrations once: a reopened file applies none and keeps its data", async () => {
    const path = join(dir, "reopen.db");
    const first = await openStorage({ driver: "sqlite", path });
    assert.deepEqual(first.migrationsApplied, ["0001-registrar-bindings", "0002-provisioning", "0003-cdrs", "0004-bans", "0005-sip-ladders", "0006-customer-credentials-ha1"]);
    await first.bindings.upsert({
      aor: "sip:alice@example.com",
      contact: "sip:alice@192.0.2.1",
      expiresAt: T0 + 60_000,
      receivedFrom: { address: "192.0.2.1", port: 5060, transport: "udp" },
      callId: "c1",
      cseq: 7,
      q: 0.5,
    });
    await first.close();
    await first.close(); // twice is harmless

    const second = await openStorage({ driver: "sqlite", path });
    try {
      assert.deepEqual(second.migrationsApplied, []);
      const [b] = await second.bindings.list("sip:alice@example.com", T0);
      assert.equal(b?.cseq, 7);
      assert.equal(b?.q, 0.5);
    } finally {
      await second.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare("SELECT version, name FROM schema_migrations").all();
      assert.deepEqual(rows, [
        { version: 1, name: "registrar-bindings" },
        { version: 2, name: "provisioning" },
        { version: 3, name: "cdrs" },
        { version: 4, name: "bans" },
        { version: 5, name: "sip-ladders" },
        { version: 6, name: "customer-credentials-ha1" },
      ]);
    } finally {
      db.close();
    }
  });

  it("applies only the migrations added since the last start", () => {
    const db = new Database(":memory:");
    try {
      const extra: Migration = { version: 100, name: "extra", sql: "CREATE TABLE extra (x INTEGER)" };
      assert.deepEqual(runMigrations(db, MIGRATIONS), ["0001-registrar-bindings", "0002-provisioning", "0003-cdrs", "0004-bans", "0005-sip-ladders", "0006-customer-credentials-ha1"]);
      assert.deepEqual(runMigrations(db, [...MIGRATIONS, extra]), ["0100-extra"]);
      assert.deepEqual(runMigrations(db, [...MIGRATIONS, extra]), []);
    } finally {
      db.close();
    }
  });

  it("0006 turns stored customer passwords into MD5 and SHA-256 HA1 in the server's realm and leaves carriers' passwords", async () => {
    const path = join(dir, "pre-0006.db");
    const before = new Database(path);
    const customer = (id: string, credentials: unknown[]): string =>
      JSON.stringify({ id, name: id, identification: { cidrs: [], credentials }, mode: { kind: "registration" }, dids: [], limits: {}, outbound: { allowedPrefixes: ["+"], callerId: "any" }, failover: { uris: [] } });
    try {
      runMigrations(before, MIGRATIONS.filter((m) => m.version <= 5));
      const insert = before.prepare("INSERT INTO provisioning_customers (id, position, doc) VALUES (?, ?, ?)");
      insert.run("acme", 0, customer("acme", [{ username: "acme", password: "Old-Plain-1" }]));
      insert.run("own-realm", 1, customer("own-realm", [{ username: "o", password: "Old-Plain-2", realm: "other.example" }]));
      insert.run("hashed", 2, customer("hashed", [{ username: "h", ha1: "0123456789abcdef0123456789abcdef", realm: "example.net" }]));
      before.prepare("INSERT INTO provisioning_carriers (id, position, doc) VALUES (?, ?, ?)").run("alpha", 0, JSON.stringify({ id: "alpha", credentials: { username: "us", password: "Carrier-Pass" } }));
    } finally {
      before.close();
    }
    const s = openSqliteStorage({ path, realm: "example.net" });
    try {
      assert.deepEqual(s.migrationsApplied, ["0006-customer-credentials-ha1"]);
      const docs = s.db.prepare<[], { doc: string }>("SELECT doc FROM provisioning_customers ORDER BY position").all().map((r) => r.doc);
      assert.equal(docs.some((d) => d.includes("Old-Plain")), false);
      const h = (alg: string, text: string): string => createHash(alg).update(text).digest("hex");
      const creds = docs.map((d) => JSON.parse(d).identification.credentials[0]);
      assert.deepEqual(creds, [
        { username: "acme", realm: "example.net", ha1: h("md5", "acme:example.net:Old-Plain-1"), ha1Sha256: h("sha256", "acme:example.net:Old-Plain-1") },
        // A credential that named its realm is hashed in that realm.
        { username: "o", realm: "other.example", ha1: h("md5", "o:other.example:Old-Plain-2"), ha1Sha256: h("sha256", "o:other.example:Old-Plain-2") },
        { username: "h", ha1: "0123456789abcdef0123456789abcdef", realm: "example.net" },
      ]);
      const carrier = s.db.prepare<[], { doc: string }>("SELECT doc FROM provisioning_carriers").get();
      assert.deepEqual(JSON.parse(carrier?.doc ?? "{}").credentials, { username: "us", password: "Carrier-Pass" });
    } finally {
      await s.close();
    }
  });

  it("rolls a failing migration back entirely and reports STORAGE_MIGRATION_FAILED", () => {
    const db = new Database(":memory:");
    try {
      const bad: Migration = { version: 100, name: "bad", sql: "CREATE TABLE half (x INTEGER); THIS IS NOT SQL;" };
      assert.throws(
        () => runMigrations(db, [...MIGRATIONS, bad]),
        (e: unknown) => e instanceof StorageError && e.code === "STORAGE_MIGRATION_FAILED" && e.cause instanceof Error,
      );
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'half'").all();
      assert.deepEqual(tables, []);
      const versions = db.prepare("SELECT version FROM schema_migrations").all();
      assert.deepEqual(versions, MIGRATIONS.map((m) => ({ version: m.version })));
    } finally {
      db.close();
    }
  });

  it("refuses a database whose schema is newer than this release", () => {
    const db = new Database(":memory:");
    try {
      runMigrations(db, [...MIGRATIONS, { version: 100, name: "future", sql: "SELECT 1" }]);
      assert.throws(
        () => runMigrations(db, MIGRATIONS),
        (e: unknown) => e instanceof StorageError && e.code === "STORAGE_SCHEMA_TOO_NEW",
      );
    } finally {
      db.close();
    }
  });

  it("refuses a database whose applied migration has another name", () => {
    const db = new Database(":memory:");
    try {
      runMigrations(db, [{ version: 1, name: "something-else", sql: "SELECT 1" }]);
      assert.throws(
        () => runMigrations(db, MIGRATIONS),
        (e: unknown) => e instanceof StorageError && e.code === "STORAGE_SCHEMA_MISMATCH",
      );
    } finally {
      db.close();
    }
  });

  it("reports an unopenable path as STORAGE_OPEN_FAILED with a cause", async () => {
    const blocker = join(dir, "a-file");
    writeFileSync(blocker, "not a folder");
    await assert.rejects(
      openStorage({ driver: "sqlite", path: join(blocker, "t.db") }),
      (e: unknown) => e instanceof StorageError && e.code === "STORAGE_OPEN_FAILED" && e.cause !== undefined,
    );
  });

  it("reports a file that is not a database as an error with a code", async () => {
    const junk = join(dir, "junk.db");
    writeFileSync(junk, "x".repeat(4096));
    chmodSync(junk, 0o600);
    await assert.rejects(openStorage({ driver: "sqlite", path: junk }), (e: unknown) => e instanceof StorageError && e.cause !== undefined);
  });
});
