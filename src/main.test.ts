import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseConfigObject } from "./config/index.ts";
import { startTrunkline } from "./main.ts";

function config(storagePath = ":memory:") {
  const r = parseConfigObject({
    sip: { listen: [{ protocol: "udp", address: "127.0.0.1", port: 0 }, { protocol: "tcp", address: "127.0.0.1", port: 0 }] },
    storage: { path: storagePath },
    log: { level: "debug" },
    http: { enabled: false },
  });
  assert.ok(r.ok);
  return r.value;
}

function sink(): { write: (s: string) => void; messages: () => string[] } {
  let text = "";
  return {
    write: (s) => void (text += s),
    messages: () =>
      text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => String((JSON.parse(l) as { msg?: unknown }).msg)),
  };
}

describe("startTrunkline", () => {
  it("opens storage, logs start and stop, and stops once however often asked", async () => {
    const out = sink();
    const handle = await startTrunkline(config(), { logDestination: out });
    assert.ok(handle.storage.migrationsApplied.includes("0001-registrar-bindings"));
    assert.deepEqual(
      handle.sip.transport.listening().map((l) => l.protocol),
      ["UDP", "TCP"],
    );
    await handle.storage.bindings.purgeExpired(0);
    await Promise.all([handle.stop(), handle.stop()]);
    await handle.stop();
    assert.deepEqual(out.messages(), ["storage open", "sip listening", "fraud engine ready", "media relay I/O", "trunkline started", "trunkline stopping", "trunkline stopped"]);
    await assert.rejects(handle.storage.bindings.list("sip:a@b", 0), { code: "STORAGE_QUERY_FAILED" });
  });

  it("logs fatal and rejects with the storage error when storage cannot open", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trunkline-main-"));
    try {
      // A file where the database folder should be: the open must fail.
      writeFileSync(join(dir, "blocker"), "");
      const out = sink();
      await assert.rejects(startTrunkline(config(join(dir, "blocker", "t.db")), { logDestination: out }), { code: "STORAGE_OPEN_FAILED" });
      assert.deepEqual(out.messages(), ["trunkline failed to start"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
