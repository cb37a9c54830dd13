// Interop: a SIPp gateway on its own loopback address answers our OPTIONS pings; when SIPp stops
// the gateway goes down after the configured misses, and comes back up once SIPp answers again.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createGatewayHealth, type GatewayHealth, type HealthChange } from "../../src/call/gateway-health.ts";
import { systemClock } from "../../src/lib/index.ts";
import { createLogger } from "../../src/observability/index.ts";
import { createSipStack, type SipStack } from "../../src/sip/index.ts";
import { freePort } from "../support/ports.ts";
import { stopAll } from "../support/processes.ts";
import { haveSipp, runSipp, type SippRun } from "../support/sipp.ts";
import { until } from "../support/until.ts";

const skip = haveSipp() ? false : "sipp is not installed";
const GATEWAY_ADDRESS = "127.0.0.2";

let stack: SipStack;
let health: GatewayHealth;
let gatewayPort: number;
const changes: HealthChange[] = [];

before(async () => {
  stack = await createSipStack({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: await freePort("127.0.0.1") }] });
  gatewayPort = await freePort(GATEWAY_ADDRESS);
  health = createGatewayHealth({
    stack,
    targets: () => [{ id: "gw1", uri: `sip:${GATEWAY_ADDRESS}:${gatewayPort}`, transport: "udp" }],
    clock: systemClock,
    logger: createLogger({ level: "silent" }),
    options: { intervalMs: 250, timeoutMs: 200, downAfter: 3, upAfter: 2 },
  });
  health.onChange((c) => changes.push(c));
});

after(async () => {
  health?.stop();
  await stopAll();
  await stack?.close();
});

/** Waits for the gateway's health to reach a state; a timeout shows the state it was in. */
const healthReaches = (what: string, check: () => boolean): Promise<void> => until(check, 8000, () => `${what}: ${JSON.stringify(health.state())}`);

function startGateway(): SippRun {
  return runSipp({ scenario: "health-uas.xml", localAddress: GATEWAY_ADDRESS, localPort: gatewayPort, timeoutSec: 60 });
}

describe("gateway health with SIPp", { skip }, () => {
  test("a gateway goes down when SIPp stops and up when it returns", async () => {
    let gateway = startGateway();
    await new Promise((r) => setTimeout(r, 300));
    health.start();
    await healthReaches("two answers", () => (health.state()[0]?.consecutiveAnswers ?? 0) >= 2);
    assert.equal(health.isDown("gw1"), false);
    assert.deepEqual(health.state()[0]!.last, { kind: "answer", status: 200 });

    await gateway.stop();
    await healthReaches("down", () => health.isDown("gw1"));
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.to, "down");
    assert.equal(changes[0]!.last.kind, "miss");

    gateway = startGateway();
    await healthReaches("up", () => !health.isDown("gw1"));
    assert.deepEqual(changes.map((c) => c.to), ["down", "up"]);
    await gateway.stop();
  });
});
