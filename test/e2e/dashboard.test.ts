// The dashboard in a real browser (headless Chromium through playwright-core) on a running
// Trunkline with SIPp peers: a call appears in Live calls and leaves it when it ends, without a
// reload; its CDR is found by search; its detail page shows the decision trace and the SIP ladder;
// a call is hung up from the page. Screenshots of every page go to test-artifacts/dashboard/.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { parseConfigText } from "../../src/config/index.ts";
import { hashToken } from "../../src/http/index.ts";
import { startTrunkline } from "../../src/main.ts";
import { freePort } from "../support/ports.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { stopAll } from "../support/processes.ts";
import { startTestServer } from "../support/trunkline.ts";

const CHROMIUM = "/usr/bin/chromium";
const TSHARK = "/usr/bin/tshark";
const skip = !haveSipp() ? "sipp is not installed (scripts/test.sh installs it)" : !existsSync(CHROMIUM) ? `${CHROMIUM} is missing (scripts/test.sh installs it)` : false;
const dir = mkdtempSync(join(tmpdir(), "trunkline-dashboard-"));
const shots = resolve(import.meta.dirname, "..", "..", "test-artifacts", "dashboard");

after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

async function launch(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(dir, "profile-")), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

test("the dashboard follows a call live, finds its CDR and shows its trace", { skip, timeout: 120_000 }, async () => {
  const carrierPort = await freePort("127.0.22.1");
  const server = await startTestServer({
    protocols: ["udp"],
    http: true,
    extraYaml: `
health:
  enabled: false
provisioning:
  customers:
    - name: pbx
      mode: static
      uri: sip:127.0.24.1:5060
      sourceAddresses: ["127.0.24.0/24"]
      dids: ["+15550400000-+15550400099"]
      channels: 10
      cps: 5
  carriers:
    - name: alpha
      gateways: ["sip:127.0.22.1:${carrierPort}"]
      sourceAddresses: ["127.0.22.0/24"]
      channels: 30
  routes:
    - { prefix: "+1", carriers: [alpha] }
`,
  });
  const base = `http://127.0.0.1:${server.http?.port}`;
  const carrier = (scenario: string) => runSipp({ scenario, localAddress: "127.0.22.1", localPort: carrierPort, calls: 1, timeoutSec: 30 });
  const pbx = (scenario: string, caller: string, holdMs: number) =>
    runSipp({ scenario, remote: `127.0.0.1:${server.udp.port}`, localAddress: "127.0.24.1", calls: 1, timeoutSec: 30, service: "+15551230000", keys: { caller }, callDurationMs: holdMs });
  let context: BrowserContext | undefined;
  try {
    context = await launch();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    // `/` leads to the overview, which goes live.
    await page.goto(`${base}/`);
    assert.equal(new URL(page.url()).pathname, "/dashboard");
    await page.locator("#live-state.on").waitFor({ timeout: 10_000 });
    await page.locator('#gauges .gauge[data-trunk="alpha"]').waitFor();

    // Live calls: a call held four seconds appears, then goes, on the same page load.
    await page.goto(`${base}/dashboard/calls`);
    await page.locator("#live-state.on").waitFor({ timeout: 10_000 });
    await page.evaluate(() => {
      (globalThis as unknown as { loadMarker: number }).loadMarker = 42;
    });
    // The carrier sends 100 Trying and rings after 300 ms, so the ladder below has every kind of message.
    const gw1 = carrier("call-uas-trying.xml");
    const call1 = pbx("call-uac.xml", "+15550400001", 4000);
    const row = page.locator("#calls tbody tr[data-id]");
    await row.first().waitFor({ timeout: 10_000 });
    await page.locator("#calls tbody tr[data-id] .badge", { hasText: "answered" }).waitFor({ timeout: 10_000 });
    assert.match((await row.first().textContent()) ?? "", /\+15550400001/);
    const callId = (await row.first().getAttribute("data-id")) ?? "";
    assert.notEqual(callId, "");
    await shot(page, "2-live-calls");
    await page.locator("#calls tbody td.empty", { hasText: "No calls in progress" }).waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { loadMarker?: number }).loadMarker), 42, "the page was not reloaded");
    const [out1, in1] = await Promise.all([call1.done(), gw1.done()]);
    assert.equal(out1.stats.successful, 1, out1.output.slice(-1500));
    assert.equal(in1.stats.successful, 1, in1.output.slice(-1500));

    // A busy call, for the failure chart and a second CDR.
    const gw2 = carrier("call-uas-486.xml");
    const call2 = pbx("call-uac-486.xml", "+15550400002", 0);
    await Promise.all([call2.done(), gw2.done()]);

    // A call held until it is hung up from the page; meanwhile the trunks and overview show its channel.
    const gw3 = carrier("call-uas.xml");
    const call3 = pbx("call-uac-wait-bye.xml", "+15550400003", 0);
    await page.locator("#calls tbody tr[data-id] .badge", { hasText: "answered" }).waitFor({ timeout: 10_000 });
    await page.goto(`${base}/dashboard/trunks`);
    await page.locator('#customers tbody tr[data-trunk="pbx"]', { hasText: "1 / 10" }).waitFor({ timeout: 10_000 });
    await page.locator('#carriers tbody tr[data-trunk="alpha"]', { hasText: "1 / 30" }).waitFor({ timeout: 10_000 });
    await shot(page, "3-trunks");
    await page.goto(`${base}/dashboard`);
    await page.locator("#fig-active .value", { hasText: "1" }).waitFor({ timeout: 10_000 });
    await page.locator('#gauges .gauge[data-trunk="pbx"] text', { hasText: "10% of 10" }).waitFor({ timeout: 10_000 });
    await shot(page, "1-overview-call-up");

    // Hang-up from Live calls: the button asks once more, then the call ends.
    await page.goto(`${base}/dashboard/calls`);
    const button = page.locator("#calls tbody tr[data-id] button[data-hangup]");
    await button.first().waitFor({ timeout: 10_000 });
    await button.first().click();
    await page.locator("#calls tbody button.confirm").click();
    await page.locator("#calls tbody td.empty", { hasText: "No calls in progress" }).waitFor({ timeout: 10_000 });
    await Promise.all([call3.done(), gw3.done()]);

    // CDR search by the first call's number: one answered record.
    await page.goto(`${base}/dashboard/cdrs`);
    await page.locator("#cdrs tbody tr[data-id]").first().waitFor({ timeout: 10_000 });
    await page.fill("#number", "+15550400001");
    await page.click("#search button[type=submit]");
    const found = page.locator(`#cdrs tbody tr[data-id="${callId}"]`);
    await found.waitFor({ timeout: 10_000 });
    assert.equal(await page.locator("#cdrs tbody tr[data-id]").count(), 1);
    assert.match((await found.textContent()) ?? "", /answered/);
    assert.match((await page.getAttribute("#export-csv", "href")) ?? "", /format=csv.*number=%2B15550400001|number=%2B15550400001.*format=csv/);
    const csv = await (await fetch(`${base}${(await page.getAttribute("#export-csv", "href")) ?? ""}`)).text();
    assert.equal(csv.trimEnd().split("\r\n").length, 2, csv);
    // Every record, for the screenshot.
    await page.fill("#number", "");
    await page.click("#search button[type=submit]");
    await page.locator("#range", { hasText: "of 3 records" }).waitFor({ timeout: 10_000 });
    await shot(page, "4-cdrs");

    // Detail page of the first call: its fields and its trace.
    await page.locator(`#cdrs tbody tr[data-id="${callId}"] td`).first().click();
    await page.waitForURL(`**/dashboard/cdrs/${callId}**`);
    await page.locator('#trace li[data-step="route"]').waitFor({ timeout: 10_000 });
    assert.ok((await page.locator("#trace li").count()) >= 3);
    assert.match((await page.locator("#fields").textContent()) ?? "", /alpha/);
    assert.equal(await page.locator("#sip-ladder").getAttribute("data-call-id"), callId);
    // Its SIP ladder, read back from storage (the call ended long ago): both legs, every message.
    await page.locator('#sip-ladder[data-state="saved"] svg.ladder g.msg').first().waitFor({ timeout: 10_000 });
    const labels = await page.locator("#sip-ladder svg.ladder g.msg").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-label") ?? ""));
    for (const label of ["INVITE (SDP)", "100 Trying", "180 Ringing", "200 OK (SDP)", "ACK", "BYE", "200 OK"]) assert.ok(labels.includes(label), `${label} in ${labels.join(", ")}`);
    assert.ok(labels.filter((l) => l === "INVITE (SDP)").length >= 2, "the A-leg INVITE and the B-leg INVITE");
    const parties = await page.locator("#sip-ladder svg.ladder g.party .title").allTextContents();
    assert.deepEqual(parties.slice(0, 3), ["PBX · pbx", "Trunkline · A side", "Trunkline · B side"]);
    assert.match(parties[3] ?? "", /^Gateway/);
    // A click on the answer shows it as it was on the wire.
    await page.locator('#sip-ladder svg.ladder g.msg[data-label="200 OK (SDP)"]').first().click();
    await page.locator("#sip-ladder-message pre.sip-raw", { hasText: "SIP/2.0 200 OK" }).waitFor();
    assert.match((await page.locator("#sip-ladder-message pre.sip-raw").textContent()) ?? "", /Content-Type: application\/sdp/i);
    const pcapHref = (await page.getAttribute("#sip-ladder-pcap", "href")) ?? "";
    const pcap = Buffer.from(await (await fetch(`${base}${pcapHref}`)).arrayBuffer());
    assert.equal(pcap.readUInt32LE(0), 0xa1b2c3d4, "a libpcap file");
    if (existsSync(TSHARK)) {
      // Wireshark reads it as the call it was: every message SIP, with the real addresses.
      const file = join(dir, "call.pcap");
      writeFileSync(file, pcap);
      const rows = execFileSync(TSHARK, ["-r", file, "-Y", "sip", "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "sip.Method", "-e", "sip.Status-Code"], {
        encoding: "utf8",
        env: { ...process.env, HOME: dir },
        stdio: ["ignore", "pipe", "ignore"],
      })
        .trim()
        .split("\n");
      assert.equal(rows.length, labels.length, rows.join("\n"));
      assert.deepEqual(rows[0]?.split("\t").slice(0, 3), ["127.0.24.1", "127.0.0.1", "INVITE"]);
    }
    assert.match(await (await fetch(`${base}${(await page.getAttribute("#sip-ladder-text", "href")) ?? ""}`)).text(), /SIP ladder of call /);
    // From the top, so the sticky top bar sits at the top of the full-page shot.
    await page.evaluate("scrollTo(0, 0)");
    await shot(page, "5-call-detail");
    // The ladder panel alone, cut from the whole page so the sticky top bar does not cover it.
    const r = await page.locator("#sip-ladder").boundingBox();
    assert.ok(r !== null);
    const scrollY = await page.evaluate<number>("scrollY");
    await page.screenshot({ path: join(shots, "7-sip-ladder.png"), fullPage: true, clip: { x: r.x - 8, y: r.y + scrollY - 8, width: r.width + 16, height: r.height + 16 } });

    // Overview with the calls counted: three attempts, two answered, one busy (486).
    await page.goto(`${base}/dashboard`);
    await page.locator("#live-state.on").waitFor({ timeout: 10_000 });
    await page.locator("#fig-asr .value", { hasText: "%" }).waitFor({ timeout: 10_000 });
    assert.match((await page.locator("#fig-asr .value").textContent()) ?? "", /66\.7/);
    assert.ok((await page.locator("#chart-calls canvas").count()) === 1, "the calls chart is drawn");
    assert.match((await page.locator("#chart-failures").textContent()) ?? "", /486/);
    await shot(page, "1-overview");
    await page.click('#range button[data-minutes="180"]');
    await page.locator('#range button[data-minutes="180"].active').waitFor();

    assert.deepEqual(errors, [], "no script errors on any page");
  } finally {
    await context?.close();
    await server.stop();
  }
});

test("with tokens configured the dashboard asks for one once and keeps it for the tab", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing`, timeout: 60_000 }, async () => {
  const httpPort = await freePort("127.0.0.1");
  const sipPort = await freePort("127.0.0.1");
  const yaml = `
sip:
  listen:
    - { protocol: udp, address: 127.0.0.1, port: ${sipPort} }
storage:
  path: ${JSON.stringify(join(dir, "tokens.db"))}
log:
  level: silent
health:
  enabled: false
http:
  enabled: true
  listen: "127.0.0.1:${httpPort}"
  tokens:
    - { name: ops, role: read, sha256: ${hashToken("dashboard-s3cret")} }
`;
  const parsed = parseConfigText(yaml, "dashboard-token-test");
  assert.ok(parsed.ok, parsed.ok ? "" : JSON.stringify(parsed.error));
  const server = await startTrunkline(parsed.value);
  const base = `http://127.0.0.1:${httpPort}`;
  let context: BrowserContext | undefined;
  try {
    context = await launch();
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/trunks`);
    await page.locator("#token-form").waitFor({ timeout: 10_000 });
    await page.fill("#token-input", "wrong");
    await page.click("#token-form button[type=submit]");
    await page.locator("#token-error", { hasText: "not accepted" }).waitFor();
    await shot(page, "6-token-prompt");
    await page.fill("#token-input", "dashboard-s3cret");
    await page.click("#token-form button[type=submit]");
    await page.locator("#live-state.on").waitFor({ timeout: 10_000 });
    assert.equal(await page.locator("#token-form").count(), 0);
    // Another page in the same tab: no second prompt.
    await page.goto(`${base}/dashboard/cdrs`);
    await page.locator("#range", { hasText: "of 0 records" }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator("#token-form").count(), 0);
  } finally {
    await context?.close();
    await server.stop();
  }
});

test("the capacity planner plans every trunk from its CDRs and from figures, warning where a limit is too small", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing`, timeout: 60_000 }, async () => {
  const server = await startTestServer({
    protocols: ["udp"],
    http: true,
    extraYaml: `
health:
  enabled: false
provisioning:
  customers:
    - name: pbx
      mode: static
      uri: sip:127.0.24.1:5060
      sourceAddresses: ["127.0.24.0/24"]
      channels: 10
  carriers:
    - name: alpha
      gateways: ["sip:127.0.22.1:5060"]
      sourceAddresses: ["127.0.22.0/24"]
      channels: 30
  routes:
    - { prefix: "+1", carriers: [alpha] }
`,
  });
  const base = `http://127.0.0.1:${server.http?.port}`;
  // Yesterday's busy hour of pbx via alpha: 120 answered calls of 300 s = 10 erlangs, 18 channels at 1 %.
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 24 * 3_600_000;
  for (let i = 0; i < 120; i++) {
    const startedAt = hour + i * 30_000;
    await server.handle.storage.cdrs.close({
      id: `plan-${i}`, callId: `plan-${i}@pbx`, direction: "outbound", customerId: "pbx", carrierId: "alpha", attempts: [],
      callerRaw: "+15550400001", calleeRaw: "+15551230000", callerE164: "+15550400001", calleeE164: "+15551230000",
      startedAt, ringingAt: startedAt + 500, answeredAt: startedAt + 1000, endedAt: startedAt + 301_000, durationMs: 300_000,
      finalStatus: 200, q850Cause: 16, disposition: "answered", hangupBy: "caller", endReason: "BYE from caller",
      ratePerMinute: null, cost: null, currency: null, trace: [],
    });
  }
  let context: BrowserContext | undefined;
  try {
    context = await launch();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    // Every page's top bar leads to the planner.
    await page.goto(`${base}/dashboard/trunks`);
    await page.click('nav a[data-page="planner"]');
    await page.waitForURL("**/dashboard/planner");
    assert.equal(await page.locator('nav a[data-page="planner"].active').count(), 1);

    // From the CDRs of the last 7 days (the default), as soon as the page opens.
    const pbxRow = page.locator('#plan-table tbody tr[data-trunk="pbx"]');
    await pbxRow.waitFor({ timeout: 10_000 });
    assert.deepEqual(
      (await pbxRow.locator("td").allTextContents()).map((t) => t.trim().replace(/\s+/g, " ")),
      ["pbx", "customer", new Date(hour).toISOString().slice(0, 16).replace("T", " "), "120", "5:00", "10.00", "18", "10too few", "21.5%", "1.57 Mbit/s"],
    );
    assert.match((await page.locator('#plan-table tbody tr[data-trunk="alpha"]').textContent()) ?? "", /enough/);
    const warnings = page.locator("#warnings .plan-warning");
    assert.equal(await warnings.count(), 1);
    assert.match((await warnings.first().textContent()) ?? "", /pbx \(customer\): channel limit 10 is below the 18 needed for 10\.00 E at 1% blocking/);
    assert.equal((await page.locator("#fig-short .value").textContent())?.trim(), "1");
    await shot(page, "8-planner-cdrs");

    // From figures, compared with alpha's limit: 600 calls of 180 s = 30 E need 42 channels; G.729 at 20 ms over IP.
    await page.click('[data-source="figures"]');
    await page.fill("#calls", "600");
    await page.fill("#duration", "180");
    await page.selectOption("#trunk", "alpha");
    await page.fill("#blocking", "1");
    await page.selectOption("#codec", "G729");
    await page.selectOption("#layer", "ip");
    await page.click("#plan-button");
    await page.locator("#result-title", { hasText: "figures" }).waitFor({ timeout: 10_000 });
    const alpha = page.locator('#plan-table tbody tr[data-trunk="alpha"]');
    assert.match((await alpha.locator("td").nth(6).textContent()) ?? "", /^\s*42\s*$/);
    assert.match((await page.locator("#fig-percall .value").textContent()) ?? "", /24\.0\s*kbit\/s/);
    assert.match((await warnings.first().textContent()) ?? "", /alpha \(carrier\): channel limit 30 is below the 42 needed for 30\.00 E/);
    await shot(page, "9-planner-figures");

    // A bad figure is named on the page, not sent.
    await page.fill("#blocking", "0");
    await page.click("#plan-button");
    await page.locator("#form-error", { hasText: "Target blocking" }).waitFor();
    assert.deepEqual(errors, [], "no script errors on the planner");
  } finally {
    await context?.close();
    await server.stop();
  }
});
