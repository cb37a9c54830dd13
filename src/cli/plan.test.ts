import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { carrier, customer } from "../domain/test-fixtures.ts";
import { openStorage } from "../storage/index.ts";
import { parsePlanCodec } from "./plan.ts";
import { plannedCall } from "../../test/support/cdr-fixtures.ts";
import { runCliCaptured } from "../../test/support/cli-io.ts";

const cli = (...args: string[]) => runCliCaptured(args);

describe("trunkline plan --calls --duration", () => {
  it("plans 10 E at 1 % as 18 channels of G.711 at 87.2 kbit/s", async () => {
    const r = await cli("plan", "--calls", "360", "--duration", "100");
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "");
    assert.match(r.out, /^Traffic +10\.00 E \(360 calls x 100 s in the busy hour\)$/m);
    assert.match(r.out, /^Channels +18$/m);
    assert.match(r.out, /^Per call +87\.2 kbit\/s each way \(Ethernet frames/m);
    assert.match(r.out, /^All channels +1569\.6 kbit\/s each way \(18 x 87\.2 kbit\/s\)$/m);
    assert.doesNotMatch(r.out, /warning/);
  });

  const figures: ReadonlyArray<readonly [string, readonly string[], RegExp]> = [
    ["IP layer", ["--layer", "ip"], /^Per call +80\.0 kbit\/s/m],
    ["G.729 at 30 ms", ["--codec", "G.729", "--ptime", "30"], /^Per call +23\.5 kbit\/s/m],
    ["PCMA is G.711", ["--codec", "pcma"], /^Codec +G711 at 20 ms: 160-byte payload, 218-byte frames, 50 packets\/s$/m],
    ["blocking in percent", ["--blocking", "5%"], /^Channels +15$/m],
    ["a tighter target", ["--blocking", "0.001"], /^Channels +21$/m],
    ["a limit that is enough", ["--channels", "20"], /^Limit +20 channels: enough \(0\.187% blocking\)$/m],
  ];
  for (const [name, extra, want] of figures) {
    it(name, async () => {
      const r = await cli("plan", "--calls", "360", "--duration", "100", ...extra);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, want);
    });
  }

  it("warns when the limit is below the need, and still exits 0", async () => {
    const r = await cli("plan", "--calls", "360", "--duration", "100", "--channels", "15");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Limit +15 channels: too few$/m);
    assert.match(r.out, /^warning: channel limit 15 is below the 18 needed for 10\.00 E at 1% blocking; about 3\.65% of busy-hour calls would be refused$/m);
  });

  it("needs no channel for no traffic", async () => {
    const r = await cli("plan", "--calls", "0", "--duration", "100");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Channels +0$/m);
  });

  const usage: ReadonlyArray<readonly [readonly string[], RegExp]> = [
    [["plan", "--calls", "10"], /--calls and --duration go together/],
    [["plan", "--calls", "x", "--duration", "60"], /--calls: expected a number/],
    [["plan", "--calls", "10", "--duration", "60", "--blocking", "0"], /--blocking: expected a probability/],
    [["plan", "--calls", "10", "--duration", "60", "--blocking", "100%"], /--blocking: expected a probability/],
    [["plan", "--calls", "10", "--duration", "60", "--codec", "amr"], /--codec: expected one of G711, G722, G729, opus/],
    [["plan", "--calls", "10", "--duration", "60", "--codec", "G729", "--ptime", "15"], /--ptime: ptime of G729 must be a multiple of 10 ms/],
    [["plan", "--calls", "10", "--duration", "60", "--layer", "atm"], /--layer: expected ip or ethernet/],
    [["plan", "--calls", "10", "--duration", "60", "--days", "3"], /--days plans from the stored CDRs/],
    [["plan", "--days", "0"], /--days: expected a whole number from 1 to 366/],
    [["plan", "--limit", "5"], /--limit is an option of cdr, not of plan/],
    [["cdr", "--calls", "5"], /--calls is an option of plan, not of cdr/],
    [["start", "--codec", "G711"], /--codec is an option of plan, not of start/],
  ];
  for (const [args, want] of usage) {
    it(`usage error: ${args.join(" ")}`, async () => {
      const r = await cli(...args);
      assert.equal(r.code, 2);
      assert.match(r.err, want);
      assert.equal(r.out, "");
    });
  }

  it("reads codec names loosely", () => {
    assert.deepEqual(["G.711", "pcmu", "g722", "G729", "OPUS", "amr"].map(parsePlanCodec), ["G711", "G711", "G722", "G729", "opus", undefined]);
  });
});

describe("trunkline plan --config (from the stored CDRs)", () => {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-plan-cli-"));
  const config = join(dir, "trunkline.yaml");
  const HOUR = 3_600_000;
  const DAY = 86_400_000;
  // A clock hour two days ago, and one nine days ago (outside the default 7 days).
  const busy = Math.floor((Date.now() - 2 * DAY) / HOUR) * HOUR;
  const old = busy - 7 * DAY;
  after(() => rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  const record = (startedAt: number, seconds: number, customerId: string | null, carrierId: string | null) => plannedCall(`c${++n}`, startedAt, seconds, customerId, carrierId);

  before(async () => {
    writeFileSync(config, "storage: { path: data/t.db }\nlog: { level: silent }\n");
    const storage = await openStorage({ driver: "sqlite", path: join(dir, "data", "t.db") });
    await storage.provisioning.replace({
      customers: [customer({ id: "acme", limits: { channels: 10 } }), customer({ id: "globex", limits: {} })],
      carriers: [carrier({ id: "alpha", limits: { channels: 100 } })],
      routes: [],
      rateDecks: [],
    });
    // acme via alpha: 120 answered calls of 300 s in one hour = 10 E; 20 busy calls that hour; 60 calls of 60 s the next hour.
    for (let i = 0; i < 120; i++) await storage.cdrs.close(record(busy + i * 30_000, 300, "acme", "alpha"));
    for (let i = 0; i < 20; i++) await storage.cdrs.close(record(busy + i * 1000, 0, "acme", "alpha"));
    for (let i = 0; i < 60; i++) await storage.cdrs.close(record(busy + HOUR + i * 60_000, 60, "acme", "alpha"));
    // A trunk no longer provisioned: 36 calls of 100 s = 1 E.
    for (let i = 0; i < 36; i++) await storage.cdrs.close(record(busy + i * 60_000, 100, "ghost", null));
    // Nine days ago, a bigger hour for acme: 240 calls of 300 s = 20 E.
    for (let i = 0; i < 240; i++) await storage.cdrs.close(record(old + i * 10_000, 300, "acme", null));
    await storage.close();
  });

  function row(out: string, trunk: string): string[] {
    const line = out.split("\n").find((l) => l.startsWith(`${trunk} `));
    assert.ok(line !== undefined, `no row for ${trunk} in\n${out}`);
    return line.split(/ {2,}/);
  }

  it("plans every trunk over the last 7 days and warns where the limit is too small", async () => {
    const r = await cli("plan", "--config", config);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "");
    const hour = new Date(busy).toISOString().slice(0, 16).replace("T", " ");
    assert.match(r.out, /^Busy hour per trunk over the last 7 days /);
    assert.match(r.out, /^TRUNK +KIND +BUSY HOUR \(UTC\) +CALLS +MEAN S +ERLANGS +CHANNELS +LIMIT +KBIT\/S$/m);
    assert.deepEqual(row(r.out, "acme"), ["acme", "customer", hour, "120", "300", "10.00", "18", "10", "1569.6"]);
    assert.deepEqual(row(r.out, "globex"), ["globex", "customer", "-", "0", "-", "0.00", "0", "none", "0.0"]);
    assert.deepEqual(row(r.out, "alpha"), ["alpha", "carrier", hour, "120", "300", "10.00", "18", "100", "1569.6"]);
    assert.deepEqual(row(r.out, "ghost"), ["ghost", "unprovisioned", hour, "36", "100", "1.00", "5", "none", "436.0"]);
    const warnings = r.out.split("\n").filter((l) => l.startsWith("warning:"));
    assert.deepEqual(warnings, ["warning: acme (customer): channel limit 10 is below the 18 needed for 10.00 E at 1% blocking; about 21.5% of busy-hour calls would be refused"]);
  });

  it("looks further back with --days, with the chosen codec and blocking", async () => {
    const r = await cli("plan", "--config", config, "--days", "10", "--codec", "G729", "--blocking", "2%", "--layer", "ip");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^2% blocking, G729 at 20 ms, bandwidth of IP packets/m);
    // 20 E at 2 % needs 28 channels; G.729 at 20 ms is 24 kbit/s over IP.
    assert.deepEqual(row(r.out, "acme"), ["acme", "customer", new Date(old).toISOString().slice(0, 16).replace("T", " "), "240", "300", "20.00", "28", "10", "672.0"]);
    assert.deepEqual(row(r.out, "alpha").slice(5), ["10.00", "17", "100", "408.0"]);
  });

  it("fails without creating a database when the path is wrong", async () => {
    const missing = join(dir, "missing.yaml");
    writeFileSync(missing, "storage: { path: nowhere/t.db }\nlog: { level: silent }\n");
    const r = await cli("plan", "--config", missing);
    assert.equal(r.code, 1);
    assert.match(r.err, /PLAN_NO_DATABASE: no database at .*nowhere/);
  });

  it("reports an invalid configuration", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "storage: { driver: mysql }\n");
    const r = await cli("plan", "--config", bad);
    assert.equal(r.code, 1);
    assert.match(r.err, /invalid configuration/);
  });
});
