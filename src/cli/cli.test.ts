import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { startProcess, stopAll } from "../../test/support/processes.ts";
import { until } from "../../test/support/until.ts";
import { memoryIo } from "../../test/support/cli-io.ts";
import { runCli } from "./run.ts";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const cliSource = join(repo, "src", "cli", "index.ts");
const bin = join(repo, "bin", "trunkline.js");
const dir = mkdtempSync(join(tmpdir(), "trunkline-cli-"));
after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

// The environment without our variables, so a developer's TRUNKLINE_* cannot change the outcome.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TRUNKLINE_")));

describe("runCli (in process)", () => {
  it("prints help and version", async () => {
    const io = memoryIo();
    assert.equal(await runCli(["--help"], io), 0);
    assert.match(io.stdout(), /Usage: trunkline <command>/);
    const io2 = memoryIo();
    assert.equal(await runCli(["--version"], io2), 0);
    assert.match(io2.stdout(), /^trunkline \d+\.\d+\.\d+/);
  });

  it("exits 2 on wrong usage", async () => {
    for (const argv of [[], ["frobnicate"], ["start", "extra"], ["--no-such-flag"]]) {
      const io = memoryIo();
      assert.equal(await runCli(argv, io), 2, argv.join(" "));
      assert.match(io.stderr(), /Usage:/);
    }
  });

  it("exits 1 and names the file when the config file is missing", async () => {
    const io = memoryIo();
    assert.equal(await runCli(["start", "--config", join(dir, "nope.yaml")], io), 1);
    assert.match(io.stderr(), /nope\.yaml: cannot read the file \(ENOENT\)/);
  });

  it("exits 1 with the storage error code when the database cannot be opened", async () => {
    const blocker = join(dir, "blocker");
    writeFileSync(blocker, "a file, not a folder");
    const file = join(dir, "unopenable.yaml");
    writeFileSync(file, `storage: { path: ${JSON.stringify(join(blocker, "t.db"))} }\nlog: { level: silent }\n`);
    const io = memoryIo();
    assert.equal(await runCli(["start", "--config", file], io), 1);
    assert.match(io.stderr(), /cannot start: STORAGE_OPEN_FAILED/);
  });
});

describe("trunkline as a child process", () => {
  it("rejects a bad config: exit 1, every error with its path on stderr", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      "sip:\n  listen:\n    - { protocol: udp, address: 127.0.0.1, port: 5060 }\n    - { protocol: tcp, address: 127.0.0.1, port: 70000 }\nlog: { levl: debug }\n",
    );
    const p = startProcess(process.execPath, ["--import", "tsx", cliSource, "start", "--config", file], { cwd: repo, env });
    const code = await p.exited;
    assert.equal(code, 1, p.output());
    assert.match(p.output(), /sip\.listen\[1\]\.port: expected a number from 0 to 65535/);
    assert.match(p.output(), /log\.levl: unknown key/);
  });

  it("starts with a valid config and stops cleanly on SIGTERM with exit 0", async () => {
    const file = join(dir, "good.yaml");
    // Port 0 and no HTTP: the test must not depend on 5060 or 8080 being free.
    writeFileSync(
      file,
      "sip: { listen: [{ protocol: udp, address: 127.0.0.1, port: 0 }] }\nstorage: { path: data/t.db }\nlog: { level: info }\nhttp: { enabled: false }\n",
    );
    const p = startProcess(process.execPath, ["--import", "tsx", cliSource, "start", "--config", file], { cwd: repo, env });
    await until(() => p.output().includes('"msg":"trunkline started"') || p.child.exitCode !== null, 20_000, "the start line");
    assert.ok(p.output().includes('"msg":"trunkline started"'), p.output());
    assert.ok(existsSync(join(dir, "data", "t.db")), "database created next to the config file");
    const code = await p.stop("SIGTERM", 15_000);
    assert.equal(code, 0, p.output());
    assert.ok(p.output().includes('"msg":"trunkline stopped"'), p.output());
  });

  it("bin/trunkline.js runs from a clone without a build", async () => {
    const p = startProcess(process.execPath, [bin, "--version"], { cwd: repo, env });
    assert.equal(await p.exited, 0, p.output());
    assert.match(p.output(), /^trunkline \d+\.\d+\.\d+/);
  });
});
