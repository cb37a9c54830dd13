// Interop: a SIPp PBX registers with MD5 digest, refreshes and unregisters against our registrar;
// the bindings seen between the steps carry SIPp's real source address and the granted interval.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRegistrar, type Registrar } from "../../src/call/registrar.ts";
import { compilePolicy } from "../../src/domain/index.ts";
import { customer } from "../../src/domain/test-fixtures.ts";
import { systemClock } from "../../src/lib/index.ts";
import { createLogger } from "../../src/observability/index.ts";
import { createSipStack, type SipStack } from "../../src/sip/index.ts";
import { MemoryBindingRepository } from "../../src/storage/index.ts";
import type { Binding } from "../../src/ports/index.ts";
import { freePort } from "../support/ports.ts";
import { stopAll } from "../support/processes.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { until } from "../support/until.ts";

const skip = haveSipp() ? false : "sipp is not installed";
const REALM = "trunkline.test";

let stack: SipStack;
let registrar: Registrar;
let port: number;

before(async () => {
  port = await freePort("127.0.0.1");
  stack = await createSipStack({ listen: [{ protocol: "UDP", address: "127.0.0.1", port }] });
  const policy = compilePolicy({
    customers: [customer({ id: "acme", mode: { kind: "registration" }, identification: { cidrs: [], credentials: [{ username: "acme", password: "s3cret" }] } })],
    carriers: [],
    routes: [],
    rateDecks: [],
  });
  if (!policy.ok) throw new Error(policy.error.join("; "));
  const compiled = policy.value;
  registrar = createRegistrar({
    stack,
    policy: () => compiled,
    bindings: new MemoryBindingRepository(),
    clock: systemClock,
    logger: createLogger({ level: "silent" }),
    // SIPp 3.6 answers only the first WWW-Authenticate and only MD5 ("authentication must use
    // MD5"), so MD5 is listed first here; both challenges are still sent.
    options: { realm: REALM, nonceSecret: "e2e-secret", algorithms: ["MD5", "SHA-256"] },
  });
});

after(async () => {
  await stopAll();
  registrar?.stop();
  await stack?.close();
});

/** Polls until `check` accepts the customer's bindings, or fails after timeoutMs. */
async function waitFor(check: (b: Binding[]) => boolean, timeoutMs: number): Promise<Binding[]> {
  let b: Binding[] = [];
  await until(async () => check((b = await registrar.lookup("acme"))), timeoutMs, () => `bindings to match: ${JSON.stringify(b)}`);
  return b;
}

describe("registrar with SIPp", { skip }, () => {
  test("REGISTER with digest, refresh and unregister all get 200, and the binding follows", async () => {
    const sippPort = await freePort("127.0.0.1");
    const run = runSipp({ scenario: "register-uac.xml", remote: `127.0.0.1:${port}`, localAddress: "127.0.0.1", localPort: sippPort, calls: 1, timeoutSec: 20 });
    const registered = await waitFor((b) => b.length === 1, 8000);
    assert.equal(registered[0]!.contact, `sip:acme@127.0.0.1:${sippPort};transport=UDP`);
    assert.deepEqual(registered[0]!.receivedFrom, { address: "127.0.0.1", port: sippPort, transport: "udp" });
    assert.ok(registered[0]!.expiresAt - Date.now() <= 300_000);
    // The refresh asks for 600 s: the binding's expiry moves out.
    await waitFor((b) => b.length === 1 && b[0]!.expiresAt - Date.now() > 400_000, 8000);
    const { code, stats, output } = await run.done();
    assert.equal(stats.successful, 1, output.slice(-2000));
    assert.equal(stats.failed, 0, output.slice(-2000));
    assert.equal(code, 0);
    assert.deepEqual(await registrar.lookup("acme"), []);
  });
});
