// Gateway health on a FakeClock with a fake transaction layer: the test decides what each OPTIONS gets.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../lib/index.ts";
import { createLogger } from "../observability/index.ts";
import {
  createResponse,
  type ClientTransaction,
  type ClientTransactionUser,
  type ResponseSource,
  type SendTarget,
  type SipRequest,
} from "../sip/index.ts";
import { compilePolicy } from "../domain/index.ts";
import { carrier, customer, gateway } from "../domain/test-fixtures.ts";
import { createGatewayHealth, healthTargets, type HealthChange, type HealthTarget } from "./gateway-health.ts";

interface Sent {
  readonly request: SipRequest;
  readonly target: SendTarget;
  readonly user: ClientTransactionUser;
}

/** A transaction layer that records each request and lets the test answer it. */
function fakeTransactions() {
  const sent: Sent[] = [];
  return {
    sent,
    transactions: {
      sendRequest(request: SipRequest, target: SendTarget, user: ClientTransactionUser): ClientTransaction {
        sent.push({ request, target, user });
        return { branch: "z9hG4bKfake", method: request.method, isInvite: false, request, state: "Trying", target, transportError: null, cancelRequested: false };
      },
    },
    /** Answers every request not yet answered. */
    answerAll(status: number, source: ResponseSource = "network"): void {
      for (const s of sent.splice(0)) s.user.onFinal(createResponse(s.request, status), { branch: "", method: "OPTIONS", isInvite: false, request: s.request, state: "Completed", target: s.target, transportError: null, cancelRequested: false }, source);
    },
  };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(targets: HealthTarget[], options = {}) {
  const clock = new FakeClock();
  const fake = fakeTransactions();
  const changes: HealthChange[] = [];
  const health = createGatewayHealth({
    stack: fake,
    targets: () => targets,
    clock,
    logger: createLogger({ level: "silent" }),
    options: { intervalMs: 30_000, timeoutMs: 5_000, downAfter: 3, upAfter: 2, ...options },
  });
  health.onChange((c) => changes.push(c));
  /** Runs one round: the timer fires, the pings go out (resolution is asynchronous), then `answer`. */
  const round = async (answer: (() => void) | null): Promise<void> => {
    clock.advance(30_000);
    await flush();
    if (answer !== null) answer();
    else clock.advance(5_000);
    await flush();
  };
  return { clock, fake, changes, health, round };
}

const gw: HealthTarget = { id: "gw1", uri: "sip:127.0.0.1:5070", transport: "udp" };

describe("gateway health", () => {
  test("sends OPTIONS to every target at each interval, to the URI's address over its transport", async () => {
    const { fake, health, clock } = setup([gw, { id: "pbx", uri: "sip:10.1.1.1:5080", transport: "tcp" }]);
    health.start();
    await flush();
    assert.equal(fake.sent.length, 2);
    assert.equal(fake.sent[0]!.request.method, "OPTIONS");
    assert.deepEqual(fake.sent[0]!.target.remote, { address: "127.0.0.1", port: 5070 });
    assert.equal(fake.sent[1]!.target.protocol, "TCP");
    fake.answerAll(200);
    await flush();
    clock.advance(30_000);
    await flush();
    assert.equal(fake.sent.length, 2);
    health.stop();
  });

  test("goes down after 3 consecutive misses and up after 2 answers, with one event each way", async () => {
    const { fake, health, changes, round } = setup([gw]);
    health.start();
    await flush();
    fake.answerAll(200);
    await flush();
    assert.equal(health.isDown("gw1"), false);
    await round(null);
    await round(null);
    assert.equal(health.isDown("gw1"), false, "two misses are not enough");
    await round(null);
    assert.equal(health.isDown("gw1"), true);
    assert.equal(changes.length, 1);
    assert.deepEqual({ from: changes[0]!.from, to: changes[0]!.to, last: changes[0]!.last }, { from: "up", to: "down", last: { kind: "miss", reason: "timeout" } });
    await round(() => fake.answerAll(200));
    assert.equal(health.isDown("gw1"), true, "one answer is not enough");
    await round(() => fake.answerAll(200));
    assert.equal(health.isDown("gw1"), false);
    assert.equal(changes.length, 2);
    assert.equal(changes[1]!.to, "up");
    health.stop();
  });

  test("a miss between answers resets the count (hysteresis needs consecutive results)", async () => {
    const { fake, health, round } = setup([gw]);
    health.start();
    await flush();
    fake.answerAll(200);
    await round(null);
    await round(null);
    await round(() => fake.answerAll(200));
    await round(null);
    await round(null);
    assert.equal(health.isDown("gw1"), false);
    assert.equal(health.state()[0]!.consecutiveMisses, 2);
    health.stop();
  });

  for (const [status, counts] of [
    [404, "answer"],
    [405, "answer"],
    [401, "answer"],
    [500, "answer"],
    [503, "miss"],
  ] as const) {
    test(`a ${status} from the network counts as ${counts === "answer" ? "an answer" : "a miss"}`, async () => {
      const { fake, health } = setup([gw], { downAfter: 1 });
      health.start();
      await flush();
      fake.answerAll(status);
      await flush();
      assert.equal(health.isDown("gw1"), counts === "miss");
      assert.equal(health.state()[0]!.last?.kind, counts);
      health.stop();
    });
  }

  for (const [source, reason] of [
    ["timeout", "timeout"],
    ["transport", "transport"],
  ] as const) {
    test(`a synthesized final response (${source}) is a miss`, async () => {
      const { fake, health } = setup([gw], { downAfter: 1 });
      health.start();
      await flush();
      fake.answerAll(source === "timeout" ? 408 : 503, source);
      await flush();
      assert.deepEqual(health.state()[0]!.last, { kind: "miss", reason });
      assert.equal(health.isDown("gw1"), true);
      health.stop();
    });
  }

  test("an unresolvable target is a miss, and a late answer after our timeout is ignored", async () => {
    const { fake, health, clock } = setup([gw, { id: "bad", uri: "tel:+441234", transport: "udp" }], { downAfter: 1 });
    health.start();
    await flush();
    assert.equal(health.isDown("bad"), true);
    clock.advance(5_000);
    await flush();
    assert.equal(health.isDown("gw1"), true);
    fake.answerAll(200);
    await flush();
    assert.equal(health.state().find((s) => s.id === "gw1")!.consecutiveAnswers, 0);
    health.stop();
  });

  test("targets removed from provisioning are forgotten; unknown ids are not down", async () => {
    const targets: HealthTarget[] = [gw];
    const { fake, health, clock } = setup(targets);
    health.start();
    await flush();
    fake.answerAll(200);
    targets.length = 0;
    clock.advance(30_000);
    await flush();
    assert.deepEqual(health.state(), []);
    assert.equal(health.isDown("gw1"), false);
    health.stop();
  });

  test("stop cancels the rounds", async () => {
    const { fake, health, clock } = setup([gw]);
    health.start();
    await flush();
    fake.answerAll(200);
    health.stop();
    clock.advance(120_000);
    await flush();
    assert.equal(fake.sent.length, 0);
    assert.equal(clock.pending(), 0);
  });
});

test("healthTargets lists every carrier gateway and every static customer URI", () => {
  const policy = compilePolicy({
    carriers: [carrier({ id: "itsp", gateways: [gateway("gw-a"), gateway("gw-b", { uri: "sip:10.0.0.2:5070", transport: "tcp" })] })],
    customers: [
      customer({ id: "static-pbx", mode: { kind: "static", uri: "sip:pbx.example.net;transport=tcp" }, identification: { cidrs: ["192.0.2.0/24"], credentials: [] } }),
      customer({ id: "reg-pbx", mode: { kind: "registration" }, identification: { cidrs: [], credentials: [{ username: "u", password: "p" }] } }),
    ],
    routes: [],
    rateDecks: [],
  });
  assert.ok(policy.ok);
  assert.deepEqual(healthTargets(policy.value), [
    { id: "gw-a", uri: "sip:gw-a.carrier.example", transport: "udp" },
    { id: "gw-b", uri: "sip:10.0.0.2:5070", transport: "tcp" },
    { id: "customer:static-pbx", uri: "sip:pbx.example.net;transport=tcp", transport: "tcp" },
  ]);
});
