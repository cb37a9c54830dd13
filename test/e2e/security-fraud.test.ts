// The toll-fraud engine against real SIPp calls through a running Trunkline: each rule family
// refuses the call it should with a 403 whose Warning names the rule (SIPp checks it), with the
// verdict in the CDR's trace, and lets the legitimate call through to the carrier (SIPp answers).
// Every customer is known by its source address, each with its own fraud policy; the operator's
// ranges file is reloaded on SIGHUP, and a suspension survives a restart.
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfigText } from "../../src/config/index.ts";
import { startTrunkline, type TrunklineHandle } from "../../src/main.ts";
import type { CallDetailRecord, TraceEntry } from "../../src/ports/index.ts";
import { freePort } from "../support/ports.ts";
import { stopAll } from "../support/processes.ts";
import { haveSipp, runSipp, type SippRun } from "../support/sipp.ts";
import { poll, until } from "../support/until.ts";

const skip = haveSipp() ? false : "sipp is not installed (scripts/test.sh installs it)";

interface Alert {
  readonly action: string;
  readonly rule: string;
  readonly destination: string;
  readonly customer: { readonly id: string };
}

/** A Trunkline in this process on a data folder that outlives one start, so a restart can be tested. */
class Fixture {
  handle!: TrunklineHandle;
  port = 0;
  carrierPort = 0;
  readonly dir = mkdtempSync(join(tmpdir(), "trunkline-fraud-"));
  readonly alerts: Alert[] = [];
  private webhook: Server | null = null;
  private webhookPort = 0;

  get rangesFile(): string {
    return join(this.dir, "ranges.yaml");
  }

  async start(): Promise<void> {
    if (this.webhook === null) {
      writeFileSync(this.rangesFile, 'version: ops-1\nhighRisk:\n  - { prefix: "+3314", label: "Paris test range" }\n');
      const server = createServer((req: IncomingMessage, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString("utf8")));
        req.on("end", () => {
          this.alerts.push(JSON.parse(body) as Alert);
          res.writeHead(204).end();
        });
      });
      this.webhookPort = await freePort("127.0.0.1");
      await new Promise<void>((r) => server.listen(this.webhookPort, "127.0.0.1", r));
      this.webhook = server;
      this.port = await freePort("127.0.0.1");
      this.carrierPort = await freePort("127.0.2.1");
    }
    const customer = (n: number, fraud: string): string[] => [
      `    - name: pbx${n}`,
      "      mode: static",
      `      uri: "sip:127.0.1.${n}:5060"`,
      `      sourceAddresses: ["127.0.1.${n}"]`,
      `      dids: ["+1555010${n}000"]`,
      ...(fraud === "" ? [] : ["      fraud:", ...fraud.split("\n").map((l) => `        ${l}`)]),
    ];
    const yaml = [
      `sip: { listen: [{ protocol: udp, address: 127.0.0.1, port: ${this.port} }] }`,
      `storage: { path: ${JSON.stringify(join(this.dir, "trunkline.db"))} }`,
      "log: { level: silent }",
      "http: { enabled: false }",
      "health: { enabled: false }",
      `security: { fraud: { webhookUrl: "http://127.0.0.1:${this.webhookPort}/alerts", webhookTimeoutMs: 1000, rangesFile: ${JSON.stringify(this.rangesFile)} } }`,
      "provisioning:",
      "  customers:",
      // pbx1: the safe defaults (domestic only).
      ...customer(1, ""),
      // pbx2: international enabled, one domestic area code denied by name.
      ...customer(2, 'allowInternational: true\ndenyPrefixes: ["+1212555"]'),
      // pbx3: at most 1 call at a time and 2 a minute.
      ...customer(3, "limits: { total: { concurrent: 1, perMinute: 2 } }"),
      // pbx4: the default sequential-dialing rule (10 numbers in 10 minutes differing in the last 2 digits).
      ...customer(4, "limits: { total: { perMinute: 100 } }"),
      // pbx5: a daily spend cap below what one call costs at the carrier's 60/min.
      ...customer(5, "dailySpendCap: 0.5"),
      "  carriers:",
      `    - name: alpha`,
      `      gateways: [{ uri: "sip:127.0.2.1:${this.carrierPort}" }]`,
      '      sourceAddresses: ["127.0.2.0/24"]',
      "      rates:",
      '        - { prefix: "+1", perMinute: 0.01 }',
      '        - { prefix: "+1313", perMinute: 60 }',
      '        - { prefix: "+44", perMinute: 0.05 }',
      '        - { prefix: "+882", perMinute: 3 }',
      '        - { prefix: "+33", perMinute: 0.05 }',
      "  routes:",
      '    - { prefix: "+", carriers: [alpha] }',
    ].join("\n");
    const parsed = parseConfigText(yaml, "security-fraud");
    if (!parsed.ok) throw new Error(`config invalid: ${JSON.stringify(parsed.error)}`);
    this.handle = await startTrunkline(parsed.value);
  }

  /** Answers `calls` calls at the carrier gateway. */
  carrier(calls: number): SippRun {
    return runSipp({ scenario: "call-uas.xml", localAddress: "127.0.2.1", localPort: this.carrierPort, calls, timeoutSec: 20 });
  }

  /** One call from pbxN to `number`: answered and hung up after holdMs, or refused 403 by a fraud rule. */
  call(pbx: number, number: string, expect: "answered" | "refused", holdMs = 200): SippRun {
    return runSipp({
      scenario: expect === "answered" ? "call-uac.xml" : "call-uac-fraud-403.xml",
      remote: `127.0.0.1:${this.port}`,
      localAddress: `127.0.1.${pbx}`,
      calls: 1,
      timeoutSec: 15,
      service: number,
      keys: { caller: `+1555010${pbx}000` },
      callDurationMs: holdMs,
      defaultBehaviors: "all,-bye",
    });
  }

  /** Runs one call to its end and checks SIPp's verdict. */
  async place(pbx: number, number: string, expect: "answered" | "refused", holdMs = 200): Promise<void> {
    const out = await this.call(pbx, number, expect, holdMs).done();
    assert.equal(out.stats.successful, 1, `pbx${pbx} -> ${number} expected ${expect}:\n${out.output.slice(-2000)}`);
  }

  /** The closed CDR of the newest call from pbxN to `number`. */
  async cdr(pbx: number, number: string): Promise<CallDetailRecord> {
    let row: CallDetailRecord | undefined;
    const closed = async (): Promise<boolean> => {
      const { rows } = await this.handle.storage.cdrs.search({ trunkId: `pbx${pbx}`, number });
      row = rows.find((r) => r.endedAt !== null && r.calleeE164 === number);
      return row !== undefined;
    };
    await until(closed, 5000, `a closed CDR for pbx${pbx} -> ${number}`);
    if (row === undefined) throw new Error("unreachable");
    return row;
  }

  async stopServer(): Promise<void> {
    await this.handle?.stop();
  }

  async close(): Promise<void> {
    await this.stopServer();
    await new Promise<void>((r) => (this.webhook === null ? r() : this.webhook.close(() => r())));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function fraudEntry(cdr: CallDetailRecord): TraceEntry {
  const entries = cdr.trace.filter((t) => t.step === "fraud");
  assert.equal(entries.length, 1, `one fraud verdict in the trace: ${JSON.stringify(cdr.trace)}`);
  return entries[0]!;
}

/** Asserts a refused CDR whose fraud verdict names `rule` (and `cls`, when given). */
async function assertBlocked(f: Fixture, pbx: number, number: string, rule: string, cls?: string): Promise<TraceEntry> {
  const cdr = await f.cdr(pbx, number);
  assert.equal(cdr.disposition, "refused");
  assert.equal(cdr.finalStatus, 403);
  const entry = fraudEntry(cdr);
  assert.equal(entry.result, "refuse");
  assert.equal(entry.data?.["rule"], rule, entry.detail);
  if (cls !== undefined) assert.equal(entry.data?.["class"], cls);
  assert.equal(cdr.attempts.length, 0, "no carrier was tried");
  return entry;
}

async function assertAnswered(f: Fixture, pbx: number, number: string): Promise<void> {
  const cdr = await f.cdr(pbx, number);
  assert.equal(cdr.disposition, "answered");
  assert.equal(fraudEntry(cdr).result, "pass");
}

describe("toll-fraud rules on real calls", { skip }, () => {
  const f = new Fixture();
  before(async () => f.start());
  after(async () => {
    await stopAll();
    await f.close();
  });
  afterEach(async () => {
    // Calls that just ended leave the engine's counts when their records are written.
    await poll(() => f.handle.calls.activeCalls().length === 0, 3000);
  });

  test("international is off by default: the UK call is refused, the domestic one completes, the webhook hears of the block", async () => {
    const gw = f.carrier(1);
    await f.place(1, "+442071234567", "refused");
    await f.place(1, "+13125550100", "answered");
    assert.equal((await gw.done()).stats.successful, 1);
    const entry = await assertBlocked(f, 1, "+442071234567", "destination-class", "international");
    assert.match(entry.detail, /international calls not enabled for pbx1/);
    await assertAnswered(f, 1, "+13125550100");
    await poll(() => f.alerts.some((a) => a.destination === "+442071234567"), 3000);
    const alert = f.alerts.find((a) => a.destination === "+442071234567");
    assert.equal(alert?.action, "block");
    assert.equal(alert?.rule, "destination-class");
    assert.equal(alert?.customer.id, "pbx1");
  });

  test("high-risk ranges stay blocked with international on; a denied prefix is refused; the UK goes through", async () => {
    const gw = f.carrier(1);
    await f.place(2, "+88212345678", "refused");
    await f.place(2, "+5371234567", "refused");
    await f.place(2, "+12125550100", "refused");
    await f.place(2, "+442071234567", "answered");
    assert.equal((await gw.done()).stats.successful, 1);
    const satellite = await assertBlocked(f, 2, "+88212345678", "destination-class", "high-risk");
    assert.equal(satellite.data?.["range"], "+882");
    assert.equal(satellite.data?.["ratePerMinute"], 3, "the rate deck's figure is in the verdict");
    await assertBlocked(f, 2, "+5371234567", "destination-class", "high-risk");
    const denied = await assertBlocked(f, 2, "+12125550100", "destination-prefix", "domestic");
    assert.match(denied.detail, /matches denied prefix \+1212555/);
    await assertAnswered(f, 2, "+442071234567");
  });

  test("the operator's ranges file adds a high-risk range; an edit reloaded on SIGHUP takes it out again", async () => {
    const gw = f.carrier(1);
    assert.equal(f.handle.fraud.rangesVersion, "ops-1");
    await f.place(2, "+33142685300", "refused");
    const listed = await assertBlocked(f, 2, "+33142685300", "destination-class", "high-risk");
    assert.equal(listed.data?.["rangesVersion"], "ops-1");
    assert.equal(listed.data?.["rangeLabel"], "Paris test range");
    writeFileSync(f.rangesFile, "version: ops-2-without-paris\n");
    process.kill(process.pid, "SIGHUP");
    // A function, so the compiler does not narrow the version across the waits.
    const version = (): string => f.handle.fraud.rangesVersion;
    await poll(() => version() === "ops-2-without-paris");
    assert.equal(version(), "ops-2-without-paris");
    await f.place(2, "+33142685301", "answered");
    assert.equal((await gw.done()).stats.successful, 1);
    await assertAnswered(f, 2, "+33142685301");
  });

  test("concurrent and per-minute limits: a second call while one is up is refused; a third after it ended passes; a fourth in the minute is refused", async () => {
    const gw = f.carrier(2);
    const long = f.call(3, "+13125550101", "answered", 2500);
    // Wait until the long call is counted by the engine (admitted) before the second one.
    await poll(() => f.handle.fraud.activeCalls("pbx3") > 0);
    await f.place(3, "+13125550102", "refused");
    assert.equal((await long.done()).stats.successful, 1);
    await f.cdr(3, "+13125550101");
    assert.equal(f.handle.fraud.activeCalls("pbx3"), 0, "the ended call left the count when its CDR was written");
    await f.place(3, "+13125550103", "answered");
    await f.place(3, "+13125550104", "refused");
    assert.equal((await gw.done()).stats.successful, 2);
    const concurrent = await assertBlocked(f, 3, "+13125550102", "concurrent-calls");
    assert.match(concurrent.detail, /1 of 1 concurrent all calls in progress/);
    const perMinute = await assertBlocked(f, 3, "+13125550104", "calls-per-minute");
    assert.match(perMinute.detail, /2 all calls started in the last minute, limit 2/);
    await assertAnswered(f, 3, "+13125550103");
  });

  test("daily spend cap: once an ended call's cost passes the cap, the next call is refused", async () => {
    const gw = f.carrier(1);
    await f.place(5, "+13135550100", "answered", 1200);
    assert.equal((await gw.done()).stats.successful, 1);
    const first = await f.cdr(5, "+13135550100");
    assert.ok((first.cost ?? 0) >= 1, `cost ${String(first.cost)}`);
    await f.place(5, "+13135550101", "refused");
    const entry = await assertBlocked(f, 5, "+13135550101", "daily-spend");
    assert.match(entry.detail, /spent \d+(\.\d+)? today .*cap 0\.5/);
  });

  test("sequential dialing suspends the trunk; the suspension survives a restart and is lifted by the operator", async () => {
    const gw = f.carrier(10);
    for (let i = 0; i < 9; i++) await f.place(4, `+1414555010${i}`, "answered", 50);
    await f.place(4, "+14145550109", "refused");
    const scan = await assertBlocked(f, 4, "+14145550109", "sequential-dialing");
    assert.equal(scan.data?.["action"], "block-and-suspend");
    assert.match(scan.detail, /10 different numbers in \+141455501xx/);
    await f.place(4, "+16085550100", "refused");
    await assertBlocked(f, 4, "+16085550100", "suspended");

    await f.stopServer();
    await f.start();
    assert.deepEqual(f.handle.fraud.suspensions().map((s) => [s.customerId, s.rule]), [["pbx4", "sequential-dialing"]]);
    await f.place(4, "+16085550101", "refused");
    await assertBlocked(f, 4, "+16085550101", "suspended");
    assert.equal(f.handle.fraud.lift("pbx4", "test"), true);
    await f.place(4, "+16085550102", "answered");
    assert.equal((await gw.done()).stats.successful, 10);
    await assertAnswered(f, 4, "+16085550102");
  });
});
