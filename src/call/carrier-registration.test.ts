// Outbound registration on a FakeClock against a fake transaction peer playing the carrier's registrar.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../lib/index.ts";
import { createLogger } from "../observability/index.ts";
import type { CarrierTrunk } from "../domain/index.ts";
import { carrier } from "../domain/test-fixtures.ts";
import {
  computeHa1,
  createChallenge,
  createResponse,
  getHeader,
  verifyCredentials,
  type ClientTransaction,
  type ClientTransactionUser,
  type HeaderField,
  type ResponseSource,
  type SendTarget,
  type SipRequest,
} from "../sip/index.ts";
import { createCarrierRegistration } from "./carrier-registration.ts";

const REALM = "carrier.example";
const CONTACT = "sip:trunkline@192.0.2.10:5060";

interface Sent {
  readonly request: SipRequest;
  readonly target: SendTarget;
  readonly user: ClientTransactionUser;
}

/** The carrier side: records REGISTERs and answers the oldest one as told. */
function fakeRegistrar(clock: FakeClock) {
  const sent: Sent[] = [];
  const fakeTx = (request: SipRequest, target: SendTarget): ClientTransaction => ({
    branch: "z9hG4bKfake",
    method: request.method,
    isInvite: false,
    request,
    state: "Trying",
    target,
    transportError: null,
    cancelRequested: false,
  });
  return {
    sent,
    transactions: {
      sendRequest(request: SipRequest, target: SendTarget, user: ClientTransactionUser): ClientTransaction {
        sent.push({ request, target, user });
        return fakeTx(request, target);
      },
    },
    /** Answers the oldest pending REGISTER. */
    answer(status: number, headers: HeaderField[] = [], options: { contactExpires?: number; source?: ResponseSource } = {}): SipRequest {
      const s = sent.shift();
      assert.ok(s !== undefined, "a REGISTER is pending");
      const res = createResponse(s.request, status, undefined, { headers });
      if (options.contactExpires !== undefined) {
        res.contact = s.request.contact.map((c) => ({ ...c, params: { expires: String(options.contactExpires) } }));
      }
      s.user.onFinal(res, fakeTx(s.request, s.target), options.source ?? "network");
      return s.request;
    },
    challenge(stale = false): SipRequest {
      const values = createChallenge({ realm: REALM, secret: "carrier-secret", now: clock.wallNow(), algorithms: ["MD5"], stale });
      return this.answer(
        401,
        values.map((value) => ({ name: "WWW-Authenticate", value })),
      );
    },
  };
}

/** Checks the request's Authorization as the carrier would. */
function authorized(req: SipRequest, clock: FakeClock, password = "pw"): boolean {
  const header = getHeader(req, "Authorization");
  if (header === undefined) return false;
  const result = verifyCredentials({
    header,
    method: "REGISTER",
    realm: REALM,
    secret: "carrier-secret",
    now: clock.wallNow(),
    lookup: (u, a) => (u === "acct" ? { ha1: computeHa1(u, REALM, password, a) } : undefined),
  });
  return result.ok;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Stops without answering the unregistration: the stop timeout ends it. */
async function stopQuietly(reg: { stop(): Promise<void> }, clock: FakeClock): Promise<void> {
  const stopping = reg.stop();
  await flush();
  clock.advance(10_000);
  await stopping;
}

function setup(carriers: CarrierTrunk[], options: { random?: () => number } = {}) {
  const clock = new FakeClock();
  const peer = fakeRegistrar(clock);
  const reg = createCarrierRegistration({
    stack: peer,
    carriers: () => carriers,
    clock,
    logger: createLogger({ level: "silent" }),
    options: { contactUri: CONTACT, refreshRatio: 0.85, retryBaseMs: 5_000, retryMaxMs: 60_000, random: options.random ?? (() => 0.999999), stopTimeoutMs: 2_000 },
  });
  return { clock, peer, reg };
}

const registering = carrier({
  id: "itsp",
  credentials: { username: "acct", password: "pw" },
  registration: { registrar: "sip:127.0.0.1:5090", expiresSeconds: 300 },
});

describe("carrier registration (RFC 3261 10.2)", () => {
  test("registers, answers the 401, takes the granted expires and refreshes at 85% with the same Call-ID", async () => {
    const { clock, peer, reg } = setup([registering, carrier({ id: "plain" })]);
    reg.start();
    await flush();
    assert.equal(peer.sent.length, 1, "only carriers with registration register");
    const first = peer.sent[0]!;
    assert.deepEqual(first.target.remote, { address: "127.0.0.1", port: 5090 });
    assert.equal(first.request.method, "REGISTER");
    assert.equal(getHeader(first.request, "Expires"), "300");
    assert.equal(first.request.contact.length, 1);
    assert.deepEqual(reg.state()[0]!.status, "pending");

    const r1 = peer.challenge();
    await flush();
    const answered = peer.sent[0]!.request;
    assert.ok(authorized(answered, clock), "the second REGISTER carries valid credentials");
    assert.equal(answered.callId, r1.callId);
    assert.equal(answered.cseq.seq, r1.cseq.seq + 1);

    peer.answer(200, [], { contactExpires: 120 });
    await flush();
    const s = reg.state()[0]!;
    assert.equal(s.status, "registered");
    assert.equal(s.expiresAt, clock.wallNow() + 120_000);
    assert.equal(s.nextAttemptAt, clock.now() + 102_000);
    assert.equal(s.lastError, null);

    clock.advance(101_999);
    await flush();
    assert.equal(peer.sent.length, 0);
    clock.advance(1);
    await flush();
    assert.equal(peer.sent.length, 1);
    const refresh = peer.sent[0]!.request;
    assert.equal(refresh.callId, r1.callId);
    assert.equal(refresh.cseq.seq, answered.cseq.seq + 1);
    assert.ok(authorized(refresh, clock), "refresh reuses the challenge with a new nc, no extra round trip");
    peer.answer(200, [{ name: "Expires", value: "200" }]);
    await flush();
    assert.equal(reg.state()[0]!.expiresAt, clock.wallNow() + 200_000);
    await stopQuietly(reg, clock);
  });

  test("failures back off exponentially up to the cap, and success resets the count", async () => {
    const { clock, peer, reg } = setup([registering]);
    reg.start();
    await flush();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      peer.answer(500);
      await flush();
      const s = reg.state()[0]!;
      assert.equal(s.status, "failed");
      assert.equal(s.lastError, "registrar answered 500 Server Internal Error");
      delays.push(Math.round((s.nextAttemptAt! - clock.now()) / 1000));
      clock.advance(s.nextAttemptAt! - clock.now());
      await flush();
    }
    assert.deepEqual(delays, [5, 10, 20, 40, 60, 60]);
    peer.answer(200, [], { contactExpires: 300 });
    await flush();
    assert.equal(reg.state()[0]!.failures, 0);
    await stopQuietly(reg, clock);
  });

  test("retry delays are randomized between half and all of the backoff", async () => {
    const { clock, peer, reg } = setup([registering], { random: () => 0 });
    reg.start();
    await flush();
    peer.answer(500);
    await flush();
    assert.equal(reg.state()[0]!.nextAttemptAt! - clock.now(), 2_500);
    await stopQuietly(reg, clock);
  });

  test("credentials refused: a second challenge after answering one is a failure, not a loop", async () => {
    const { clock, peer, reg } = setup([registering]);
    reg.start();
    await flush();
    peer.challenge();
    await flush();
    peer.challenge();
    await flush();
    const s = reg.state()[0]!;
    assert.equal(s.status, "failed");
    assert.equal(s.lastError, "credentials refused (401)");
    assert.equal(peer.sent.length, 0);
    await stopQuietly(reg, clock);
  });

  test("a stale challenge after answering is answered again", async () => {
    const { clock, peer, reg } = setup([registering]);
    reg.start();
    await flush();
    peer.challenge();
    await flush();
    peer.challenge(true);
    await flush();
    assert.ok(authorized(peer.sent[0]!.request, clock));
    peer.answer(200, [], { contactExpires: 300 });
    await flush();
    assert.equal(reg.state()[0]!.status, "registered");
    await stopQuietly(reg, clock);
  });

  test("a timeout (synthesized 408) is a failure with a retry", async () => {
    const { clock, peer, reg } = setup([registering]);
    reg.start();
    await flush();
    peer.answer(408, [], { source: "timeout" });
    await flush();
    assert.equal(reg.state()[0]!.status, "failed");
    assert.ok(reg.state()[0]!.nextAttemptAt !== null);
    await stopQuietly(reg, clock);
  });

  test("423 is retried at once with Min-Expires", async () => {
    const { clock, peer, reg } = setup([registering]);
    reg.start();
    await flush();
    peer.answer(423, [{ name: "Min-Expires", value: "600" }]);
    await flush();
    assert.equal(getHeader(peer.sent[0]!.request, "Expires"), "600");
    peer.answer(200, [], { contactExpires: 600 });
    await flush();
    assert.equal(reg.state()[0]!.status, "registered");
    await stopQuietly(reg, clock);
  });

  test("a Retry-After on 503 stretches the retry", async () => {
    const { clock, peer, reg } = setup([registering]);
    reg.start();
    await flush();
    peer.answer(503, [{ name: "Retry-After", value: "120" }]);
    await flush();
    assert.equal(reg.state()[0]!.nextAttemptAt! - clock.now(), 120_000);
    await stopQuietly(reg, clock);
  });

  test("stop unregisters with Expires: 0 and cancels the refresh", async () => {
    const { clock, peer, reg } = setup([registering]);
    reg.start();
    await flush();
    peer.challenge();
    await flush();
    peer.answer(200, [], { contactExpires: 300 });
    await flush();
    const stopping = reg.stop();
    await flush();
    const bye = peer.sent[0]!.request;
    assert.equal(getHeader(bye, "Expires"), "0");
    assert.ok(authorized(bye, clock));
    peer.answer(200);
    await stopping;
    assert.deepEqual(reg.state(), []);
    assert.equal(clock.pending(), 0);
  });

  test("stop does not hang on a registrar that never answers", async () => {
    const { clock, peer, reg } = setup([registering]);
    reg.start();
    await flush();
    peer.answer(200, [], { contactExpires: 300 });
    await flush();
    const stopping = reg.stop();
    await flush();
    assert.equal(peer.sent.length, 1);
    clock.advance(2_000);
    await stopping;
  });

  test("sync unregisters removed carriers and registers new ones", async () => {
    const list: CarrierTrunk[] = [registering];
    const { clock, peer, reg } = setup(list);
    reg.start();
    await flush();
    peer.answer(200, [], { contactExpires: 300 });
    await flush();
    list.length = 0;
    list.push(carrier({ id: "other", credentials: { username: "acct", password: "pw" }, registration: { registrar: "sip:127.0.0.2", expiresSeconds: 60 } }));
    const syncing = reg.sync();
    await flush();
    assert.equal(getHeader(peer.answer(200), "Expires"), "0");
    await syncing;
    await flush();
    assert.deepEqual(reg.state().map((s) => s.carrierId), ["other"]);
    assert.deepEqual(peer.sent[0]!.target.remote, { address: "127.0.0.2", port: 5060 });
    assert.equal(reg.state()[0]!.aor, "sip:acct@127.0.0.2");
    await stopQuietly(reg, clock);
  });
});
