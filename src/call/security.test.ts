import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { securitySchema } from "../config/index.ts";
import { compilePolicy } from "../domain/index.ts";
import { carrier, customer } from "../domain/test-fixtures.ts";
import { FakeClock } from "../lib/index.ts";
import { createLogger } from "../observability/index.ts";
import { parseMessage, type InboundContext, type SipRequest } from "../sip/index.ts";
import { MemoryBanRepository } from "../storage/index.ts";
import { createSecurityGuard, type SecurityGuard, type SecurityGuardDeps } from "./security.ts";

function guard(clock = new FakeClock(), yaml: Record<string, unknown> = {}, persistence: Pick<SecurityGuardDeps, "store" | "initialBans"> = {}): SecurityGuard {
  const policy = compilePolicy({
    customers: [customer({ id: "pbx", identification: { cidrs: ["198.51.100.64/28"], credentials: [] } })],
    carriers: [carrier({ id: "beta", sourceCidrs: ["192.0.2.0/24"] })],
    routes: [],
    rateDecks: [],
  });
  if (!policy.ok) throw new Error(policy.error.join("; "));
  const compiled = policy.value;
  return createSecurityGuard({
    settings: securitySchema.parse(yaml),
    policy: () => compiled,
    clock,
    logger: createLogger({ level: "silent" }),
    housekeepingMs: 0,
    ...persistence,
  });
}

function request(method: string, userAgent?: string): SipRequest {
  const text = [
    `${method} sip:100@198.51.100.1 SIP/2.0`,
    "Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-1",
    "From: <sip:a@203.0.113.5>;tag=1",
    "To: <sip:100@198.51.100.1>",
    "Call-ID: c1",
    `CSeq: 1 ${method}`,
    "Max-Forwards: 70",
    ...(userAgent !== undefined ? [`User-Agent: ${userAgent}`] : []),
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
  const parsed = parseMessage(Buffer.from(text));
  if (!parsed.ok || parsed.message.kind !== "request") throw new Error("test request did not parse");
  return parsed.message;
}

function from(address: string): InboundContext {
  return { protocol: "UDP", remote: { address, port: 5060 }, local: { address: "198.51.100.1", port: 5060 }, connectionId: null, receivedAt: 0 };
}

describe("security guard", () => {
  it("drops a scanner User-Agent silently and bans its source, so later requests are dropped too", () => {
    const g = guard();
    assert.deepEqual(g.screen(request("OPTIONS", "friendly-scanner"), from("203.0.113.5")), { kind: "drop", rule: "scanner-user-agent" });
    assert.deepEqual(g.screen(request("OPTIONS", "Asterisk"), from("203.0.113.5")), { kind: "drop", rule: "banned" });
    assert.equal(g.listBans()[0]?.address, "203.0.113.5");
    assert.deepEqual(g.screen(request("OPTIONS", "Asterisk"), from("203.0.113.6")), { kind: "pass" });
  });

  it("bans a flooding source at its burst but never a carrier address", () => {
    const g = guard(new FakeClock(), { rate: { other: { perSecond: 1, burst: 5 } } });
    const verdicts = Array.from({ length: 8 }, () => g.screen(request("OPTIONS"), from("203.0.113.7")).kind);
    assert.deepEqual(verdicts, ["pass", "pass", "pass", "pass", "pass", "drop", "drop", "drop"]);
    for (let i = 0; i < 50; i++) assert.equal(g.screen(request("OPTIONS"), from("192.0.2.10")).kind, "pass");
    // A customer known by its address is bounded by its own CPS limit (503), never banned.
    for (let i = 0; i < 50; i++) assert.equal(g.screen(request("INVITE"), from("198.51.100.70")).kind, "pass");
    assert.deepEqual(g.listBans().map((b) => b.address), ["203.0.113.7"]);
  });

  it("bans after auth.maxFailures failed digests from one source", () => {
    const g = guard(new FakeClock(), { auth: { maxFailures: 3, windowSeconds: 60 } });
    g.recordAuthFailure("203.0.113.8", "100");
    g.recordAuthFailure("203.0.113.8", "101");
    assert.equal(g.listBans().length, 0);
    g.recordAuthFailure("203.0.113.8", "102");
    assert.equal(g.screen(request("REGISTER"), from("203.0.113.8")).kind, "drop");
    g.recordAuthFailure("192.0.2.1", "x");
    g.recordAuthFailure("192.0.2.1", "x");
    g.recordAuthFailure("192.0.2.1", "x");
    assert.deepEqual(g.listBans().map((b) => b.address), ["203.0.113.8"], "carrier addresses are trusted");
  });

  it("locks no account by default, however many sources fail against it", () => {
    const g = guard(new FakeClock(), { auth: { perAccount: { maxFailures: 2, windowSeconds: 60 } } });
    for (let i = 1; i <= 6; i++) g.recordAuthFailure(`203.0.113.${i}`, "acme");
    assert.equal(g.accountLock("acme"), undefined);
  });

  it("with accountLock on, locks an account after perAccount failures from many sources, longer on repeat, then lets it go", () => {
    const clock = new FakeClock();
    const g = guard(clock, { auth: { maxFailures: 50, perAccount: { maxFailures: 3, windowSeconds: 60 }, accountLock: { enabled: true, baseSeconds: 10, maxSeconds: 25 } } });
    const fail = (): void => {
      for (let i = 1; i <= 3; i++) g.recordAuthFailure(`203.0.113.${i}`, "acme");
    };
    const lockedFor = (): number => {
      const lock = g.accountLock("acme");
      assert.ok(lock !== undefined, "locked");
      return lock.until - clock.wallNow();
    };
    g.recordAuthFailure("203.0.113.1", "acme");
    g.recordAuthFailure("203.0.113.2", "acme");
    assert.equal(g.accountLock("acme"), undefined);
    g.recordAuthFailure("203.0.113.3", "acme");
    assert.equal(lockedFor(), 10_000);
    assert.equal(g.accountLock("other"), undefined, "only that account");
    clock.advance(10_000);
    assert.equal(g.accountLock("acme"), undefined);
    fail();
    assert.equal(lockedFor(), 20_000, "the second lock is twice as long");
    clock.advance(20_000);
    fail();
    assert.equal(lockedFor(), 25_000, "capped at maxSeconds");
  });

  it("adds, expires and lifts manual bans; refuses to ban a trusted address", () => {
    const clock = new FakeClock();
    const g = guard(clock, { trustedNetworks: ["10.0.0.0/8"] });
    assert.equal(g.addBan("203.0.113.9", { seconds: 10 }).ok, true);
    assert.equal(g.addBan("10.1.2.3", {}).ok, false);
    assert.equal(g.addBan("192.0.2.3", {}).ok, false);
    assert.equal(g.screen(request("OPTIONS"), from("203.0.113.9")).kind, "drop");
    clock.advance(11_000);
    assert.equal(g.screen(request("OPTIONS"), from("203.0.113.9")).kind, "pass");
    assert.equal(g.addBan("203.0.113.9", {}).ok, true);
    assert.equal(g.liftBan("203.0.113.9").ok, true);
    assert.equal(g.liftBan("203.0.113.9").ok, false);
    assert.equal(g.screen(request("OPTIONS"), from("203.0.113.9")).kind, "pass");
  });

  it("the datagram gate refuses a banned source's datagrams before parsing, and only while the ban lasts", () => {
    const clock = new FakeClock();
    const g = guard(clock);
    const remote = { address: "203.0.113.11", port: 5060 };
    assert.equal(g.datagramGate(remote), true, "nothing banned yet");
    assert.equal(g.addBan("203.0.113.11", { seconds: 10 }).ok, true);
    assert.equal(g.datagramGate(remote), false);
    assert.equal(g.datagramGate({ address: "::ffff:203.0.113.11", port: 5060 }), false, "the IPv4-mapped form is the same source");
    assert.equal(g.datagramGate({ address: "203.0.113.12", port: 5060 }), true, "other sources pass");
    assert.equal(g.stats().screened["banned"], 2, "counted as screened by the ban");
    clock.advance(11_000);
    assert.equal(g.datagramGate(remote), true, "the ban expired");
  });

  it("limits stream connections per source and releases them", () => {
    const g = guard(new FakeClock(), { maxConnectionsPerSource: 2 });
    const remote = { address: "203.0.113.10", port: 40000 };
    assert.equal(g.connectionGate.accept(remote), true);
    assert.equal(g.connectionGate.accept(remote), true);
    assert.equal(g.connectionGate.accept(remote), false);
    g.connectionGate.release(remote);
    assert.equal(g.connectionGate.accept(remote), true);
  });
});

describe("ban persistence", () => {
  const settle = () => new Promise((r) => setImmediate(r));

  it("writes every ban placed (flood, failed digests, manual) through to the store and removes lifted ones", async () => {
    const clock = new FakeClock();
    const store = new MemoryBanRepository();
    const g = guard(clock, {}, { store });
    for (let i = 0; i < 200; i++) g.screen(request("INVITE"), from("203.0.113.5"));
    for (let i = 0; i < 5; i++) g.recordAuthFailure("203.0.113.6", "105");
    assert.ok(g.addBan("203.0.113.7", { reason: "by hand" }).ok);
    await settle();
    const now = clock.wallNow();
    assert.deepEqual((await store.loadActive(now)).map((b) => b.address).sort(), ["203.0.113.5", "203.0.113.6", "203.0.113.7"]);
    assert.ok(g.liftBan("203.0.113.7").ok);
    await settle();
    assert.deepEqual((await store.loadActive(now)).map((b) => b.address).sort(), ["203.0.113.5", "203.0.113.6"]);
  });

  it("restores stored bans: a restarted guard still drops the banned source, and a repeat offence lasts longer", async () => {
    const clock = new FakeClock();
    const store = new MemoryBanRepository();
    const first = guard(clock, {}, { store });
    for (let i = 0; i < 200; i++) first.screen(request("INVITE"), from("203.0.113.5"));
    await settle();
    const stored = await store.loadActive(clock.wallNow());
    const firstBan = stored[0];
    assert.ok(firstBan !== undefined);
    const second = guard(clock, {}, { store, initialBans: stored });
    assert.equal(second.screen(request("OPTIONS"), from("203.0.113.5")).kind, "drop");
    assert.deepEqual(second.listBans().map((b) => b.address), ["203.0.113.5"]);
    clock.advance((firstBan.expiresAt ?? 0) - clock.wallNow() + 1);
    assert.equal(second.screen(request("OPTIONS"), from("203.0.113.5")).kind, "pass", "expired");
    for (let i = 0; i < 200; i++) second.screen(request("INVITE"), from("203.0.113.5"));
    const again = second.listBans()[0];
    assert.equal(again?.offence, 2);
    assert.ok((again?.expiresAt ?? 0) - (again?.createdAt ?? 0) > (firstBan.expiresAt ?? 0) - firstBan.createdAt);
  });
});
