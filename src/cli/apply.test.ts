import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { loadConfigFile } from "../config/index.ts";
import { openStorage } from "../storage/index.ts";
import { memoryIo } from "../../test/support/cli-io.ts";
import { runCli } from "./run.ts";

const dir = mkdtempSync(join(tmpdir(), "trunkline-apply-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const PROVISIONING = `provisioning:
  customers:
    - name: acme
      mode: static
      uri: sip:127.0.1.1:5060
      sourceAddresses: ["127.0.1.0/24"]
      dids: ["+15550100000-+15550100099"]
  carriers:
    - name: alpha
      gateways: ["sip:127.0.2.1:5060"]
      rates: [{ prefix: "+1", perMinute: 0.01 }]
    - name: beta
      gateways: ["sip:127.0.3.1:5060"]
  routes:
    - { prefix: "+1", carriers: [alpha, beta] }
`;

function setup(name: string): { config: string; file: (text: string) => string; db: string } {
  const folder = join(dir, name);
  const db = join(folder, "t.db");
  mkdirSync(folder);
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, `storage:\n  path: ${JSON.stringify(db)}\nlog:\n  level: silent\n`);
  let n = 0;
  return {
    config,
    db,
    file: (text) => {
      const f = join(dir, `${name}-p${++n}.yaml`);
      writeFileSync(f, text);
      return f;
    },
  };
}

async function stored(config: string) {
  const loaded = await loadConfigFile(config);
  assert.ok(loaded.ok);
  const storage = await openStorage(loaded.value.storage);
  try {
    return await storage.provisioning.load();
  } finally {
    await storage.close();
  }
}

describe("trunkline apply", () => {
  it("--dry-run shows what would be added and stores nothing", async () => {
    const t = setup("dry");
    const io = memoryIo();
    const code = await runCli(["apply", "-f", t.file(PROVISIONING), "--dry-run", "--config", t.config], io);
    assert.equal(code, 0, io.stderr());
    assert.equal(
      io.stdout(),
      "+ customer acme\n+ carrier alpha\n+ carrier beta\n+ route +1\n+ rate deck alpha\n5 changes: 5 added, 0 changed, 0 removed\ndry run: nothing stored\n",
    );
    assert.equal((await stored(t.config)).customers.length, 0);
  });

  it("stores the set, then shows changed and removed entries by id, and nothing when run again", async () => {
    const t = setup("store");
    const first = memoryIo();
    assert.equal(await runCli(["apply", "-f", t.file(PROVISIONING), "-c", t.config], first), 0, first.stderr());
    assert.match(first.stdout(), /stored in .*t\.db; a running server uses it from its next start/);
    assert.deepEqual((await stored(t.config)).carriers.map((c) => c.id), ["alpha", "beta"]);

    const changed = PROVISIONING.replace("- { prefix: \"+1\", carriers: [alpha, beta] }", "- { prefix: \"+1\", carriers: [alpha] }").replace(
      /    - name: beta\n      gateways: \["sip:127\.0\.3\.1:5060"\]\n/,
      "",
    );
    const dry = memoryIo();
    assert.equal(await runCli(["apply", "-f", t.file(changed), "--dry-run", "-c", t.config], dry), 0, dry.stderr());
    assert.equal(dry.stdout(), "~ route +1\n- carrier beta\n2 changes: 0 added, 1 changed, 1 removed\ndry run: nothing stored\n");
    assert.equal((await stored(t.config)).carriers.length, 2, "the dry run left the stored set alone");

    const io = memoryIo();
    assert.equal(await runCli(["apply", "-f", t.file(changed), "-c", t.config], io), 0, io.stderr());
    assert.deepEqual((await stored(t.config)).carriers.map((c) => c.id), ["alpha"]);
    const again = memoryIo();
    assert.equal(await runCli(["apply", "-f", t.file(changed), "-c", t.config], again), 0);
    assert.equal(again.stdout(), "no changes\n");
  });

  it("stores a customer's password only as HA1 in the server's calls.realm; the same file again is no change, a new password is", async () => {
    const t = setup("ha1");
    writeFileSync(t.config, `storage:\n  path: ${JSON.stringify(t.db)}\nlog:\n  level: silent\ncalls:\n  realm: apply.test\n`);
    const withPassword = (password: string): string =>
      PROVISIONING.replace('      sourceAddresses: ["127.0.1.0/24"]\n', `      auth: { username: acme, password: ${password} }\n`);
    const first = memoryIo();
    assert.equal(await runCli(["apply", "-f", t.file(withPassword("Apply-Secret-1")), "-c", t.config], first), 0, first.stderr());
    assert.equal(first.stdout().includes("Apply-Secret-1"), false);
    const md5 = createHash("md5").update("acme:apply.test:Apply-Secret-1").digest("hex");
    const sha = createHash("sha256").update("acme:apply.test:Apply-Secret-1").digest("hex");
    assert.deepEqual((await stored(t.config)).customers[0]?.identification.credentials, [{ username: "acme", realm: "apply.test", ha1: md5, ha1Sha256: sha }]);
    const db = new Database(t.db, { readonly: true });
    try {
      const docs = db.prepare<[], { doc: string }>("SELECT doc FROM provisioning_customers").all();
      assert.equal(JSON.stringify(docs).includes("Apply-Secret-1"), false);
    } finally {
      db.close();
    }

    const again = memoryIo();
    assert.equal(await runCli(["apply", "-f", t.file(withPassword("Apply-Secret-1")), "--dry-run", "-c", t.config], again), 0, again.stderr());
    assert.equal(again.stdout(), "no changes\ndry run: nothing stored\n");
    const changed = memoryIo();
    assert.equal(await runCli(["apply", "-f", t.file(withPassword("Apply-Secret-2")), "--dry-run", "-c", t.config], changed), 0, changed.stderr());
    assert.equal(changed.stdout(), "~ customer acme\n1 change: 0 added, 1 changed, 0 removed\ndry run: nothing stored\n");
  });

  it("an invalid file is refused with every error named by path, and nothing is stored", async () => {
    const t = setup("bad");
    const badShape = PROVISIONING.replace('dids: ["+15550100000-+15550100099"]', 'dids: ["+15550100000", 15550100001]');
    const io = memoryIo();
    assert.equal(await runCli(["apply", "-f", t.file(badShape), "-c", t.config], io), 1);
    assert.match(io.stderr(), /provisioning\.customers\[0\]\.dids\[1\]: expected \+E\.164 number or range/);
    assert.equal(io.stdout(), "");
    const badPolicy = PROVISIONING.replace("carriers: [alpha, beta]", "carriers: [alpha, zeta]");
    const policy = memoryIo();
    assert.equal(await runCli(["apply", "-f", t.file(badPolicy), "-c", t.config], policy), 1);
    assert.match(policy.stderr(), /provisioning\.routes\[0\]\.carriers\[1\]: unknown carrier zeta/);
    assert.equal((await stored(t.config)).customers.length, 0);
  });

  it("usage errors: no -f, a missing file, no provisioning section, --dry-run on another command", async () => {
    const t = setup("usage");
    const noFile = memoryIo();
    assert.equal(await runCli(["apply", "-c", t.config], noFile), 2);
    assert.match(noFile.stderr(), /apply needs -f FILE/);
    const missing = memoryIo();
    assert.equal(await runCli(["apply", "-f", join(dir, "nope.yaml"), "-c", t.config], missing), 1);
    assert.match(missing.stderr(), /cannot read the file \(ENOENT\)/);
    const empty = memoryIo();
    assert.equal(await runCli(["apply", "-f", t.file("log:\n  level: info\n"), "-c", t.config], empty), 1);
    assert.match(empty.stderr(), /no provisioning: section/);
    const misplaced = memoryIo();
    assert.equal(await runCli(["cdr", "--dry-run"], misplaced), 2);
    assert.match(misplaced.stderr(), /--dry-run is an option of apply, not of cdr/);
  });
});
