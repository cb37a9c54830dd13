// Interop: we register with a carrier played by SIPp. It challenges with 401 (MD5) and checks our
// answer, grants 2 s so we must refresh, then accepts our unregistration when we stop.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createCarrierRegistration, type CarrierRegistration } from "../../src/call/carrier-registration.ts";
import { carrier } from "../../src/domain/test-fixtures.ts";
import { systemClock } from "../../src/lib/index.ts";
import { createLogger } from "../../src/observability/index.ts";
import { createSipStack, type SipStack } from "../../src/sip/index.ts";
import { freePort } from "../support/ports.ts";
import { stopAll } from "../support/processes.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { until } from "../support/until.ts";

const skip = haveSipp() ? false : "sipp is not installed";
const CARRIER_ADDRESS = "127.0.0.3";

let stack: SipStack;
let ourPort: number;

before(async () => {
  ourPort = await freePort("127.0.0.1");
  stack = await createSipStack({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: ourPort }] });
});

after(async () => {
  await stopAll();
  await stack?.close();
});

describe("carrier registration with SIPp", { skip }, () => {
  test("answers the 401, registers, refreshes before expiry and unregisters on stop", async () => {
    const registrarPort = await freePort(CARRIER_ADDRESS);
    const sipp = runSipp({ scenario: "register-registrar.xml", localAddress: CARRIER_ADDRESS, localPort: registrarPort, calls: 1, timeoutSec: 20 });
    await new Promise((r) => setTimeout(r, 300));
    const itsp = carrier({
      id: "itsp",
      credentials: { username: "acct", password: "pw" },
      registration: { registrar: `sip:${CARRIER_ADDRESS}:${registrarPort}`, expiresSeconds: 300 },
    });
    const reg: CarrierRegistration = createCarrierRegistration({
      stack,
      carriers: () => [itsp],
      clock: systemClock,
      logger: createLogger({ level: "silent" }),
      options: { contactUri: `sip:trunkline@127.0.0.1:${ourPort}` },
    });
    reg.start();
    const state = () => reg.state()[0];
    await until(() => state()?.status === "registered", 8000, () => `registered: ${JSON.stringify(reg.state())}`);
    assert.ok(state()!.expiresAt! - Date.now() <= 2_000, "the 2 s the registrar granted");
    await until(() => (state()?.expiresAt ?? 0) - Date.now() > 30_000, 8000, () => `refreshed: ${JSON.stringify(reg.state())}`);
    assert.equal(state()!.failures, 0);
    await reg.stop();
    const { code, stats, output } = await sipp.done();
    assert.equal(stats.successful, 1, output.slice(-2000));
    assert.equal(stats.failed, 0, output.slice(-2000));
    assert.equal(code, 0);
  });
});
