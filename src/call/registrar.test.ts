// The registrar against a real client stack on loopback, with an in-memory (and a SQLite)
// binding repository. The registrar's clock is fake, so expiry is exact; the stacks run on real time.
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { FakeClock, newCallId, newTag } from "../lib/index.ts";
import { createLogger, type Logger } from "../observability/index.ts";
import { compilePolicy, hashCredentials, type CustomerTrunk, type Policy } from "../domain/index.ts";
import { customer } from "../domain/test-fixtures.ts";
import {
  answerChallenge,
  computeHa1,
  createRequest,
  createSipStack,
  getHeader,
  parseUri,
  pickChallenge,
  serializeUri,
  type NameAddr,
  type SendTarget,
  type SipResponse,
  type SipStack,
  type Uri,
} from "../sip/index.ts";
import { MemoryBindingRepository, openSqliteStorage } from "../storage/index.ts";
import { createRegistrar, type Registrar } from "./registrar.ts";

const REALM = "trunkline.test";

function uri(text: string): Uri {
  const u = parseUri(text);
  if (u === null) throw new Error(`bad uri ${text}`);
  return u;
}

function policyOf(customers: CustomerTrunk[]): Policy {
  const p = compilePolicy({ customers, carriers: [], routes: [], rateDecks: [] });
  if (!p.ok) throw new Error(p.error.join("; "));
  return p.value;
}

// Provisioned with a password, kept as its MD5 and SHA-256 HA1 only, as storage keeps it.
const acmeCredentials = hashCredentials({ username: "acme", password: "s3cret" }, REALM);
const acme = customer({ id: "acme", mode: { kind: "registration" }, identification: { cidrs: [], credentials: [acmeCredentials] } });
const hashed = customer({
  id: "hashed",
  mode: { kind: "registration" },
  identification: { cidrs: [], credentials: [{ username: "hashed", ha1: computeHa1("hashed", REALM, "pw2", "MD5") }] },
});
const staticOne = customer({ id: "static", identification: { cidrs: [], credentials: [{ username: "static", password: "x" }] } });

/** Captures log lines as parsed JSON. */
function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n")) if (l.trim() !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ level: "debug", destination: stream }), lines };
}

interface RegisterOptions {
  user?: string;
  /** User of the To AOR when it differs from the digest username. */
  toUser?: string;
  password?: string;
  contacts?: NameAddr[];
  wildcard?: boolean;
  expires?: number;
  callId?: string;
  cseq?: number;
  /** Answer a challenge with this algorithm only. */
  algorithm?: "MD5" | "SHA-256";
}

interface Client {
  stack: SipStack;
  target: SendTarget;
  /** Sends one REGISTER; answers one 401 when a password is given. Returns every final response. */
  register(o: RegisterOptions): Promise<SipResponse[]>;
}

async function makeClient(server: SipStack): Promise<Client> {
  const stack = await createSipStack({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }] });
  const l = server.transport.listening()[0]!;
  const target: SendTarget = { protocol: "UDP", remote: { address: "127.0.0.1", port: l.endpoint.port } };
  const send = (o: RegisterOptions, seq: number, callId: string, authorization?: string): Promise<SipResponse> => {
    const user = o.toUser ?? o.user ?? "acme";
    const aor: NameAddr = { displayName: null, uri: uri(`sip:${user}@${REALM}`), params: {} };
    const headers = [];
    if (o.expires !== undefined) headers.push({ name: "Expires", value: String(o.expires) });
    if (authorization !== undefined) headers.push({ name: "Authorization", value: authorization });
    const req = createRequest({
      method: "REGISTER",
      uri: uri(`sip:${REALM}`),
      from: { ...aor, params: { tag: newTag() } },
      to: aor,
      callId,
      cseq: seq,
      contact: o.contacts ?? [],
      contactWildcard: o.wildcard ?? false,
      headers,
    });
    return new Promise((resolve) => stack.transactions.sendRequest(req, target, { onFinal: (res) => resolve(res) }));
  };
  return {
    stack,
    target,
    async register(o) {
      const callId = o.callId ?? newCallId();
      let seq = o.cseq ?? 1;
      const out: SipResponse[] = [];
      let res = await send(o, seq, callId);
      out.push(res);
      if (res.status === 401 && o.password !== undefined) {
        // getHeaders splits on commas, which digest values contain: read raw lines instead.
        const raw = res.headers.filter((h) => h.name.toLowerCase() === "www-authenticate").map((h) => h.value);
        const chosen = o.algorithm === undefined ? pickChallenge(raw) : raw.find((v) => v.includes(`algorithm=${o.algorithm}`));
        assert.ok(chosen !== undefined);
        const authorization = answerChallenge({ challenge: chosen, method: "REGISTER", uri: `sip:${REALM}`, username: o.user ?? "acme", password: o.password });
        seq++;
        res = await send(o, seq, callId, authorization);
        out.push(res);
      }
      return out;
    },
  };
}

function contact(port: number, params: Record<string, string | null> = {}): NameAddr {
  return { displayName: null, uri: uri(`sip:acme@10.0.0.1:${port}`), params };
}

function expiresOf(res: SipResponse): Map<string, number> {
  return new Map(res.contact.map((c) => [serializeUri(c.uri), Number(c.params["expires"])]));
}

describe("registrar (RFC 3261 10.3)", () => {
  let server: SipStack;
  let client: Client;
  let clock: FakeClock;
  let bindings: MemoryBindingRepository;
  let registrar: Registrar;
  let log: ReturnType<typeof capturingLogger>;

  before(async () => {
    server = await createSipStack({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }] });
    client = await makeClient(server);
  });

  after(async () => {
    registrar.stop();
    await client.stack.close();
    await server.close();
  });

  beforeEach(() => {
    registrar?.stop();
    clock = new FakeClock();
    bindings = new MemoryBindingRepository();
    log = capturingLogger();
    registrar = startRegistrar();
  });

  /** The registrar every test here talks to; `extra` adds options (an account lock). */
  function startRegistrar(extra: Partial<Parameters<typeof createRegistrar>[0]> = {}): Registrar {
    return createRegistrar({
      stack: server,
      policy: () => policyOf([acme, hashed, staticOne]),
      bindings,
      clock,
      logger: log.logger,
      options: { realm: REALM, nonceSecret: "test-secret", minExpires: 60, maxExpires: 3600, defaultExpires: 1800 },
      ...extra,
    });
  }

  test("a REGISTER without credentials is challenged with SHA-256 and MD5, qop=auth", async () => {
    const [res] = await client.register({ contacts: [contact(5060)] });
    assert.equal(res!.status, 401);
    const raw = res!.headers.filter((h) => h.name === "WWW-Authenticate").map((h) => h.value);
    assert.equal(raw.length, 2);
    assert.match(raw[0]!, /algorithm=SHA-256/);
    assert.match(raw[1]!, /algorithm=MD5/);
    assert.ok(raw.every((v) => v.includes(`realm="${REALM}"`) && v.includes('qop="auth"')));
  });

  test("an unknown user gets the same challenge as a known one, then 403 and a security event", async () => {
    const known = await client.register({ user: "acme", contacts: [contact(5060)] });
    const unknown = await client.register({ user: "nobody", password: "guess", contacts: [contact(5060)] });
    assert.equal(unknown[0]!.status, known[0]!.status);
    const shape = (r: SipResponse): string[] => r.headers.filter((h) => h.name === "WWW-Authenticate").map((h) => h.value.replace(/nonce="[^"]*"/, ""));
    assert.deepEqual(shape(unknown[0]!), shape(known[0]!));
    assert.equal(unknown[1]!.status, 403);
    const event = log.lines.find((l) => l["security"] === true);
    assert.ok(event !== undefined);
    assert.equal(event["reason"], "auth-failed");
    assert.ok(!JSON.stringify(log.lines).includes("guess"), "no secret in the log");
  });

  test("a wrong password gets 403 after the challenge", async () => {
    const res = await client.register({ password: "wrong", contacts: [contact(5060)] });
    assert.deepEqual(res.map((r) => r.status), [401, 403]);
    assert.deepEqual(await registrar.lookup("acme"), []);
  });

  for (const algorithm of ["MD5", "SHA-256"] as const) {
    test(`a registration with ${algorithm} credentials is stored with its source address and answered with its expires`, async () => {
      const res = await client.register({ password: "s3cret", algorithm, contacts: [contact(5060)], expires: 300 });
      assert.deepEqual(res.map((r) => r.status), [401, 200]);
      assert.deepEqual([...expiresOf(res[1]!)], [["sip:acme@10.0.0.1:5060", 300]]);
      assert.ok(getHeader(res[1]!, "Date") !== undefined);
      const found = await registrar.lookup("acme");
      assert.equal(found.length, 1);
      assert.equal(found[0]!.aor, `sip:acme@${REALM}`);
      assert.equal(found[0]!.receivedFrom.address, "127.0.0.1");
      assert.equal(found[0]!.receivedFrom.port, client.stack.transport.listening()[0]!.endpoint.port);
      assert.equal(found[0]!.receivedFrom.transport, "udp");
    });
  }

  test("the credentials the algorithms above verified against hold no password, only both HA1", () => {
    assert.equal(acmeCredentials.password, undefined);
    assert.equal(acmeCredentials.ha1, computeHa1("acme", REALM, "s3cret", "MD5"));
    assert.equal(acmeCredentials.ha1Sha256, computeHa1("acme", REALM, "s3cret", "SHA-256"));
  });

  test("a stored MD5 ha1 alone cannot verify a SHA-256 response", async () => {
    const res = await client.register({ user: "hashed", password: "pw2", algorithm: "SHA-256", contacts: [{ ...contact(5070), uri: uri("sip:hashed@10.0.0.1:5070") }] });
    assert.deepEqual(res.map((r) => r.status), [401, 403]);
  });

  test("a locked account's REGISTER is 403 even with the right password, with an account-locked security event", async () => {
    registrar.stop();
    const locked = new Set(["acme"]);
    registrar = startRegistrar({ accountLock: (account) => (locked.has(account) ? { reason: `account ${account} locked for 300 s more` } : undefined) });
    const res = await client.register({ password: "s3cret", contacts: [contact(5060)] });
    assert.deepEqual(res.map((r) => r.status), [401, 403]);
    assert.deepEqual(await registrar.lookup("acme"), []);
    const event = log.lines.find((l) => l["security"] === true && l["reason"] === "account-locked");
    assert.equal(event?.["account"], "acme");
    locked.clear();
    const after = await client.register({ password: "s3cret", contacts: [contact(5060)] });
    assert.deepEqual(after.map((r) => r.status), [401, 200]);
  });

  test("a stored MD5 ha1 authenticates with MD5", async () => {
    const res = await client.register({ user: "hashed", password: "pw2", algorithm: "MD5", contacts: [{ ...contact(5070), uri: uri("sip:hashed@10.0.0.1:5070") }] });
    assert.deepEqual(res.map((r) => r.status), [401, 200]);
  });

  test("a static-mode customer cannot register", async () => {
    const res = await client.register({ user: "static", password: "x", contacts: [contact(5060)] });
    assert.deepEqual(res.map((r) => r.status), [401, 403]);
  });

  test("registering another user's AOR is 403", async () => {
    const res = await client.register({ user: "acme", toUser: "hashed", password: "s3cret", contacts: [contact(5060)] });
    assert.equal(res[1]!.status, 403);
    assert.equal(res[1]!.reason, "Forbidden AOR");
    assert.ok(log.lines.some((l) => l["security"] === true && l["reason"] === "aor-forbidden"));
  });

  test("several contacts, per-contact expires over the Expires header, max cut down", async () => {
    const res = await client.register({
      password: "s3cret",
      expires: 120,
      contacts: [contact(5060), contact(5061, { expires: "600" }), contact(5062, { expires: "99999", q: "0.5" })],
    });
    assert.equal(res[1]!.status, 200);
    assert.deepEqual(Object.fromEntries(expiresOf(res[1]!)), {
      "sip:acme@10.0.0.1:5060": 120,
      "sip:acme@10.0.0.1:5061": 600,
      "sip:acme@10.0.0.1:5062": 3600,
    });
    assert.equal((await registrar.lookup("acme")).at(-1)!.q, 0.5);
  });

  test("no expires anywhere takes the default", async () => {
    const res = await client.register({ password: "s3cret", contacts: [contact(5060)] });
    assert.deepEqual([...expiresOf(res[1]!).values()], [1800]);
  });

  test("an interval below the minimum is 423 with Min-Expires, and nothing is stored", async () => {
    const res = await client.register({ password: "s3cret", contacts: [contact(5060, { expires: "30" })] });
    assert.equal(res[1]!.status, 423);
    assert.equal(getHeader(res[1]!, "Min-Expires"), "60");
    assert.deepEqual(await registrar.lookup("acme"), []);
  });

  test("a refresh extends the binding; bindings expire on the clock", async () => {
    const callId = newCallId();
    await client.register({ password: "s3cret", callId, cseq: 1, contacts: [contact(5060)], expires: 300 });
    clock.advance(200_000);
    const refresh = await client.register({ password: "s3cret", callId, cseq: 3, contacts: [contact(5060)], expires: 300 });
    assert.deepEqual([...expiresOf(refresh[1]!).values()], [300]);
    clock.advance(299_000);
    assert.equal((await registrar.lookup("acme")).length, 1);
    clock.advance(1_000);
    assert.equal((await registrar.lookup("acme")).length, 0);
  });

  test("a query (no Contact) lists the bindings without changing them", async () => {
    await client.register({ password: "s3cret", contacts: [contact(5060), contact(5061)], expires: 300 });
    clock.advance(100_000);
    const res = await client.register({ password: "s3cret" });
    assert.equal(res[1]!.status, 200);
    assert.deepEqual([...expiresOf(res[1]!).values()], [200, 200]);
  });

  test("Expires: 0 removes one contact; Contact: * with Expires: 0 removes them all", async () => {
    const callId = newCallId();
    await client.register({ password: "s3cret", callId, cseq: 1, contacts: [contact(5060), contact(5061)], expires: 300 });
    const one = await client.register({ password: "s3cret", callId, cseq: 3, contacts: [contact(5060)], expires: 0 });
    assert.deepEqual([...expiresOf(one[1]!).keys()], ["sip:acme@10.0.0.1:5061"]);
    const all = await client.register({ password: "s3cret", callId, cseq: 5, wildcard: true, expires: 0 });
    assert.equal(all[1]!.status, 200);
    assert.equal(all[1]!.contact.length, 0);
    assert.deepEqual(await registrar.lookup("acme"), []);
  });

  test("Contact: * without Expires: 0 is 400", async () => {
    const res = await client.register({ password: "s3cret", wildcard: true, expires: 300 });
    assert.equal(res[1]!.status, 400);
  });

  test("same Call-ID with a CSeq not above the stored one is refused (step 7); another Call-ID replaces", async () => {
    const callId = newCallId();
    await client.register({ password: "s3cret", callId, cseq: 10, contacts: [contact(5060)], expires: 300 });
    const old = await client.register({ password: "s3cret", callId, cseq: 5, contacts: [contact(5060)], expires: 0 });
    assert.equal(old[1]!.status, 500);
    assert.equal((await registrar.lookup("acme")).length, 1);
    const other = await client.register({ password: "s3cret", callId: newCallId(), cseq: 1, contacts: [contact(5060)], expires: 0 });
    assert.equal(other[1]!.status, 200);
    assert.equal((await registrar.lookup("acme")).length, 0);
  });

  test("a stale nonce is re-challenged with stale=true", async () => {
    const first = await client.register({ contacts: [contact(5060)] });
    const challenge = first[0]!.headers.find((h) => h.name === "WWW-Authenticate")!.value;
    clock.advance(10 * 60 * 1000);
    const authorization = answerChallenge({ challenge, method: "REGISTER", uri: `sip:${REALM}`, username: "acme", password: "s3cret" });
    const aor: NameAddr = { displayName: null, uri: uri(`sip:acme@${REALM}`), params: {} };
    const req = createRequest({
      method: "REGISTER",
      uri: uri(`sip:${REALM}`),
      from: { ...aor, params: { tag: newTag() } },
      to: aor,
      callId: newCallId(),
      cseq: 2,
      contact: [contact(5060)],
      headers: [{ name: "Authorization", value: authorization }],
    });
    const res = await new Promise<SipResponse>((resolve) => client.stack.transactions.sendRequest(req, client.target, { onFinal: (r) => resolve(r) }));
    assert.equal(res.status, 401);
    assert.ok(res.headers.filter((h) => h.name === "WWW-Authenticate").every((h) => /stale=true/i.test(h.value)));
  });

  test("more contacts than allowed is 403", async () => {
    const many = Array.from({ length: 11 }, (_, i) => contact(6000 + i));
    const res = await client.register({ password: "s3cret", contacts: many, expires: 300 });
    assert.equal(res[1]!.status, 403);
  });
});

describe("registrar with SQLite", () => {
  test("bindings survive re-creating the registrar on the same database file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trunkline-registrar-"));
    const path = join(dir, "t.db");
    const server = await createSipStack({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }] });
    const client = await makeClient(server);
    const clock = new FakeClock();
    const options = { realm: REALM, nonceSecret: "s", purgeIntervalMs: 0 };
    const logger = createLogger({ level: "silent" });
    try {
      const first = openSqliteStorage({ path });
      const r1 = createRegistrar({ stack: server, policy: () => policyOf([acme]), bindings: first.bindings, clock, logger, options });
      const res = await client.register({ password: "s3cret", contacts: [contact(5060)], expires: 300 });
      assert.equal(res[1]!.status, 200);
      r1.stop();
      await first.close();

      const second = openSqliteStorage({ path });
      const r2 = createRegistrar({ stack: server, policy: () => policyOf([acme]), bindings: second.bindings, clock, logger, options });
      const found = await r2.lookup("acme");
      assert.equal(found.length, 1);
      assert.equal(found[0]!.contact, "sip:acme@10.0.0.1:5060");
      assert.equal(found[0]!.receivedFrom.address, "127.0.0.1");
      r2.stop();
      await second.close();
    } finally {
      await client.stack.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
