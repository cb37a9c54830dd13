import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CallDetailRecord } from "../ports/index.ts";
import { openStorage } from "../storage/index.ts";
import { csvField } from "./cdr.ts";
import { memoryIo, runCliCaptured } from "../../test/support/cli-io.ts";
import { runCli } from "./run.ts";

const dir = mkdtempSync(join(tmpdir(), "trunkline-cdr-cli-"));
const config = join(dir, "trunkline.yaml");
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);

function record(id: string, over: Partial<CallDetailRecord> = {}): CallDetailRecord {
  return {
    id,
    callId: `${id}@127.0.1.1`,
    direction: "outbound",
    customerId: "acme",
    carrierId: "alpha",
    attempts: [{ target: "sip:+12125550100@127.0.2.1:5060", carrierId: "alpha", gatewayId: "alpha-gw1", startedAt: T0, endedAt: T0 + 1, status: 200, outcome: "answered" }],
    callerRaw: "+15550100001",
    calleeRaw: "+12125550100",
    callerE164: "+15550100001",
    calleeE164: "+12125550100",
    startedAt: T0,
    ringingAt: null,
    answeredAt: T0 + 1000,
    endedAt: T0 + 31_000,
    durationMs: 30_000,
    finalStatus: 200,
    q850Cause: 16,
    disposition: "answered",
    hangupBy: "caller",
    endReason: "BYE from caller",
    ratePerMinute: null,
    cost: null,
    currency: null,
    trace: [{ at: T0, step: "identify", result: "pass", detail: 'digest user "acme", customer acme' }],
    ...over,
  };
}

const cli = (...args: string[]) => runCliCaptured(["cdr", "--config", config, ...args]);

before(async () => {
  writeFileSync(config, "storage: { path: data/t.db }\nlog: { level: silent }\n");
  const storage = await openStorage({ driver: "sqlite", path: join(dir, "data", "t.db") });
  await storage.cdrs.close(record("c1"));
  await storage.cdrs.close(record("c2", { startedAt: T0 + 60_000, customerId: "globex", disposition: "busy", finalStatus: 486, endReason: 'busy, "really"', answeredAt: null, durationMs: 0 }));
  await storage.cdrs.close(record("c3", { startedAt: T0 + 120_000, carrierId: "beta", calleeRaw: "+442071234567", calleeE164: "+442071234567" }));
  await storage.close();
});

describe("trunkline cdr", () => {
  it("prints CSV with a header row, newest first", async () => {
    const r = await cli();
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split("\r\n");
    assert.equal(lines[0], "id,call_id,direction,customer_id,carrier_id,caller,callee,caller_e164,callee_e164,started_at,ringing_at,answered_at,ended_at,duration_ms,final_status,q850_cause,disposition,hangup_by,end_reason,rate_per_minute,cost,currency,attempts");
    assert.deepEqual(lines.slice(1, 4).map((l) => l.split(",")[0]), ["c3", "c2", "c1"]);
    assert.equal(lines[3], "c1,c1@127.0.1.1,outbound,acme,alpha,+15550100001,+12125550100,+15550100001,+12125550100,2026-01-31T12:00:00.000Z,,2026-01-31T12:00:01.000Z,2026-01-31T12:00:31.000Z,30000,200,16,answered,caller,BYE from caller,,,,1");
    assert.match(lines[2] ?? "", /,"busy, ""really""",/);
    assert.equal(lines[4], "");
    assert.equal(r.err, "");
  });

  it("filters by time, trunk, number and disposition", async () => {
    const ids = async (...args: string[]): Promise<string[]> => {
      const r = await cli("--format", "json", ...args);
      assert.equal(r.code, 0, r.err);
      const parsed: unknown = JSON.parse(r.out);
      assert.ok(Array.isArray(parsed));
      return parsed.map((x: { id: string }) => x.id);
    };
    assert.deepEqual(await ids("--from", "2026-01-31T12:01:00Z"), ["c3", "c2"]);
    assert.deepEqual(await ids("--to", "2026-01-31T12:01:00Z"), ["c1"]);
    assert.deepEqual(await ids("--trunk", "globex"), ["c2"]);
    assert.deepEqual(await ids("--trunk", "beta"), ["c3"]);
    assert.deepEqual(await ids("--number", "+44"), ["c3"]);
    assert.deepEqual(await ids("--disposition", "busy"), ["c2"]);
    assert.deepEqual(await ids("--from", "2026-02-01"), []);
  });

  it("exports JSON without traces unless asked", async () => {
    const plain = await cli("--format", "json", "--limit", "1");
    const [row] = JSON.parse(plain.out) as Record<string, unknown>[];
    assert.equal(row?.["id"], "c3");
    assert.equal("trace" in (row ?? {}), false);
    assert.match(plain.err, /1 of 3 matching records shown/);
    const traced = await cli("--format", "json", "--with-trace", "--trunk", "acme", "--disposition", "answered", "--to", "2026-01-31T12:01:00Z");
    const rows = JSON.parse(traced.out) as CallDetailRecord[];
    assert.deepEqual(rows.map((r) => r.id), ["c1"]);
    assert.deepEqual(rows[0], record("c1"));
  });

  it("adds a trace column to CSV with --with-trace", async () => {
    const r = await cli("--with-trace", "--limit", "1", "--offset", "2");
    const [header, first] = r.out.split("\r\n");
    assert.ok(header?.endsWith(",attempts,trace"));
    assert.ok(first?.startsWith("c1,"));
    assert.ok(first?.endsWith(`,1,"[{""at"":${T0},""step"":""identify"",""result"":""pass"",""detail"":""digest user \\""acme\\"", customer acme""}]"`), first);
  });

  it("exits 2 on bad options, naming each", async () => {
    const r = await cli("--from", "yesterday", "--disposition", "lost", "--limit", "0", "--format", "xml");
    assert.equal(r.code, 2);
    assert.match(r.err, /--from: expected an ISO date/);
    assert.match(r.err, /--disposition: expected one of answered, busy/);
    assert.match(r.err, /--limit: expected a whole number from 1/);
    assert.match(r.err, /--format: expected csv or json/);
    const io = memoryIo();
    assert.equal(await runCli(["start", "--limit", "3"], io), 2);
    assert.match(io.stderr(), /--limit is an option of cdr, not of start/);
  });

  it("exits 1 with CDR_NO_DATABASE rather than creating an empty database", async () => {
    const other = join(dir, "elsewhere.yaml");
    writeFileSync(other, "storage: { path: nowhere/t.db }\n");
    const io = memoryIo();
    assert.equal(await runCli(["cdr", "--config", other], io), 1);
    assert.match(io.stderr(), /CDR_NO_DATABASE: no database at .*nowhere\/t\.db/);
  });

  it("keeps spreadsheets from running network-supplied text as formulas", () => {
    assert.equal(csvField("+15550100001"), "+15550100001");
    assert.equal(csvField("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    assert.equal(csvField("+cmd|calc"), "'+cmd|calc");
    assert.equal(csvField("-5"), "-5");
    assert.equal(csvField(null), "");
  });
});
