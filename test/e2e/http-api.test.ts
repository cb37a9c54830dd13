// The HTTP API over a real socket on a running Trunkline: a route is changed through the API while
// a call is up; that call completes normally on the carrier it started with, and the next call
// takes the new route. No restart in between.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "../support/ports.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { stopAll } from "../support/processes.ts";
import { startTestServer } from "../support/trunkline.ts";
import { poll } from "../support/until.ts";

const skip = haveSipp() ? false : "sipp is not installed (scripts/test.sh installs it)";

after(async () => {
  await stopAll();
});

test("a route changed through the API applies to the next call and leaves the call in progress alone", { skip }, async () => {
  const alphaPort = await freePort("127.0.12.1");
  const betaPort = await freePort("127.0.13.1");
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
      uri: sip:127.0.14.1:5060
      sourceAddresses: ["127.0.14.0/24"]
      dids: ["+15550300000-+15550300099"]
  carriers:
    - name: alpha
      gateways: ["sip:127.0.12.1:${alphaPort}"]
      sourceAddresses: ["127.0.12.0/24"]
    - name: beta
      gateways: ["sip:127.0.13.1:${betaPort}"]
      sourceAddresses: ["127.0.13.0/24"]
  routes:
    - { prefix: "+1", carriers: [alpha] }
`,
  });
  const base = `http://127.0.0.1:${server.http?.port}`;
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: () => Record<string, unknown>; text: string }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const pbxCall = (holdMs: number) =>
    runSipp({
      scenario: "call-uac.xml",
      remote: `127.0.0.1:${server.udp.port}`,
      localAddress: "127.0.14.1",
      calls: 1,
      timeoutSec: 20,
      service: "+15551230000",
      keys: { caller: "+15550300001" },
      callDurationMs: holdMs,
    });
  try {
    assert.deepEqual(server.handle.httpAddress(), server.http);

    // Call 1: held three seconds on alpha.
    const alpha = runSipp({ scenario: "call-uas.xml", localAddress: "127.0.12.1", localPort: alphaPort, calls: 1, timeoutSec: 20 });
    const first = pbxCall(3000);
    const answered = await poll(async () => {
      const items = (await api("GET", "/api/v1/calls")).json()["items"] as Array<{ state: string }>;
      return items.length === 1 && items[0]?.state === "answered";
    }, 8000, 50);
    assert.ok(answered, "call 1 is up");

    // In the middle of it: +1 now goes to beta.
    const changed = await api("PUT", "/api/v1/routes/%2B1", { id: "+1", prefix: "1", carriers: [{ carrierId: "beta" }] });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(server.handle.policy().provisioning.routes[0]?.carriers[0]?.carrierId, "beta");
    const channels = (await api("GET", "/api/v1/trunks/alpha/channels")).json();
    assert.equal(channels["outbound"], 1, "call 1 still holds its channel on alpha");

    const [out1, gw1] = await Promise.all([first.done(), alpha.done()]);
    assert.equal(out1.stats.successful, 1, out1.output.slice(-1500));
    assert.equal(gw1.stats.successful, 1, gw1.output.slice(-1500));

    // Call 2: the new route.
    const beta = runSipp({ scenario: "call-uas.xml", localAddress: "127.0.13.1", localPort: betaPort, calls: 1, timeoutSec: 20 });
    const second = pbxCall(200);
    const [out2, gw2] = await Promise.all([second.done(), beta.done()]);
    assert.equal(out2.stats.successful, 1, out2.output.slice(-1500));
    assert.equal(gw2.stats.successful, 1, gw2.output.slice(-1500));

    // Both records, read back through the API, newest first.
    const cdrsClosed = async (): Promise<boolean> => ((await api("GET", "/api/v1/cdrs")).json()["items"] as Array<{ endedAt: number | null }>).every((r) => r.endedAt !== null);
    assert.ok(await poll(cdrsClosed, 8000, 50));
    const cdrs = (await api("GET", "/api/v1/cdrs?disposition=answered")).json();
    assert.equal(cdrs["total"], 2);
    const rows = cdrs["items"] as Array<{ id: string; carrierId: string; disposition: string }>;
    assert.deepEqual(rows.map((r) => r.carrierId), ["beta", "alpha"]);
    const one = (await api("GET", `/api/v1/cdrs/${rows[1]?.id ?? ""}`)).json();
    assert.ok((one["trace"] as Array<{ step: string }>).some((t) => t.step === "route"));
    const csv = await api("GET", "/api/v1/cdrs?format=csv");
    assert.equal(csv.text.trimEnd().split("\r\n").length, 3);

    const metrics = (await api("GET", "/metrics")).text;
    assert.match(metrics, /^trunkline_calls_active 0$/m);
    assert.match(metrics, /^trunkline_sip_requests_received_total\{method="INVITE"\} [1-9]/m);
    assert.match(metrics, /^trunkline_sip_responses_sent_total\{code="200"\} [1-9]/m);
    assert.match(metrics, /^trunkline_channels_in_use\{trunk="alpha",kind="carrier",direction="outbound"\} 0$/m);
    assert.match(metrics, /^trunkline_event_loop_lag_seconds\{stat="p99"\} /m);
  } finally {
    await server.stop();
  }
});
