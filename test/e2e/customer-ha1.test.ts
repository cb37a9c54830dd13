// Issue 5: a customer provisioned with a password is kept only as HA1 hashes. A real Trunkline
// with its SQLite file; a SIPp PBX (MD5 digest) places a call through a SIPp carrier; then every
// row of every table in the file, and every log line, is searched for the password. Then account
// lock: guesses from two sources lock the account, and the right password from a third source
// gets 403 with an `account-locked` security event (real sockets, a client SIP stack).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { parseConfigText } from "../../src/config/index.ts";
import { startTrunkline, type TrunklineHandle } from "../../src/main.ts";
import { answerChallenge, createRequest, createSipStack, parseUri, type SipResponse, type SipStack, type Uri } from "../../src/sip/index.ts";
import { newCallId, newTag } from "../../src/lib/index.ts";
import { freePort } from "../support/ports.ts";
import { stopAll } from "../support/processes.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";

const skip = haveSipp() ? false : "sipp is not installed";
const REALM = "ha1.test";
// The password SIPp's call-uac-auth.xml answers with.
const PASSWORD = "acme-secret";

const dirs: string[] = [];
after(async () => {
  await stopAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Running {
  handle: TrunklineHandle;
  port: number;
  dbPath: string;
  logs: string[];
}

async function start(gatewayPort: number, extraYaml: readonly string[] = []): Promise<Running> {
  const port = await freePort("127.0.0.1");
  const dir = mkdtempSync(join(tmpdir(), "trunkline-ha1-"));
  dirs.push(dir);
  const dbPath = join(dir, "trunkline.db");
  const yaml = [
    "sip:",
    "  listen:",
    `    - { protocol: udp, address: "127.0.0.1", port: ${port} }`,
    "storage:",
    `  path: ${JSON.stringify(dbPath)}`,
    "log:",
    "  level: debug",
    "http:",
    "  enabled: false",
    // The SIPp gateway plays one call scenario; an OPTIONS ping would break it.
    "health:",
    "  enabled: false",
    "calls:",
    `  realm: ${REALM}`,
    // SIPp answers only the first challenge, and only MD5.
    "  digestAlgorithms: [MD5, SHA-256]",
    ...extraYaml,
    "provisioning:",
    "  customers:",
    "    - name: acme",
    "      mode: static",
    "      uri: sip:127.0.1.1:5060",
    `      auth: { username: acme, password: ${PASSWORD} }`,
    '      dids: ["+15550100000-+15550100099"]',
    "      channels: 10",
    "  carriers:",
    "    - name: alpha",
    "      gateways:",
    `        - { uri: "sip:127.0.2.1:${gatewayPort}" }`,
    '      sourceAddresses: ["127.0.2.0/24"]',
    "  routes:",
    '    - { prefix: "+1", carriers: [alpha] }',
  ].join("\n");
  const parsed = parseConfigText(yaml, "customer-ha1");
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  const logs: string[] = [];
  const handle = await startTrunkline(parsed.value, { logDestination: { write: (line: string) => void logs.push(line) } });
  return { handle, port, dbPath, logs };
}

/** Every row of every table of the SQLite file, as JSON lines. */
function dumpDatabase(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    const out: string[] = [];
    for (const { name } of db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all()) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all()) out.push(JSON.stringify(row));
    }
    return out.join("\n");
  } finally {
    db.close();
  }
}

describe("customer credentials kept as HA1 only", { skip }, () => {
  test("a customer provisioned with a password calls with MD5 digest (SIPp), and neither the database nor the log holds the password", async () => {
    const gatewayPort = await freePort("127.0.2.1");
    const server = await start(gatewayPort);
    try {
      const gw = runSipp({ scenario: "call-uas.xml", localAddress: "127.0.2.1", localPort: gatewayPort, calls: 1, timeoutSec: 15, defaultBehaviors: "all,-bye" });
      const pbx = runSipp({
        scenario: "call-uac-auth.xml",
        remote: `127.0.0.1:${server.port}`,
        localAddress: "127.0.1.1",
        calls: 1,
        timeoutSec: 15,
        service: "+15551230001",
        keys: { caller: "+15550100005" },
        callDurationMs: 300,
        defaultBehaviors: "all,-bye",
      });
      const [p, g] = await Promise.all([pbx.done(), gw.done()]);
      assert.equal(p.stats.successful, 1, p.output.slice(-2000));
      assert.equal(g.stats.successful, 1, g.output.slice(-2000));
    } finally {
      await server.handle.stop();
    }
    const dump = dumpDatabase(server.dbPath);
    assert.equal(dump.includes(PASSWORD), false, "no password in the SQLite file");
    assert.ok(dump.includes(createHash("md5").update(`acme:${REALM}:${PASSWORD}`).digest("hex")), "MD5 HA1 stored");
    assert.ok(dump.includes(createHash("sha256").update(`acme:${REALM}:${PASSWORD}`).digest("hex")), "SHA-256 HA1 stored");
    assert.ok(server.logs.length > 0);
    assert.equal(server.logs.join("").includes(PASSWORD), false, "no password in the log");
  });
});

function uri(text: string): Uri {
  const u = parseUri(text);
  if (u === null) throw new Error(`bad uri ${text}`);
  return u;
}

/** One INVITE from `address`, answering the 407 with `password`; returns the final statuses. */
async function invite(serverPort: number, address: string, password: string): Promise<number[]> {
  const stack: SipStack = await createSipStack({ listen: [{ protocol: "UDP", address, port: 0 }] });
  try {
    const target = { protocol: "UDP" as const, remote: { address: "127.0.0.1", port: serverPort } };
    const callId = newCallId();
    const fromTag = newTag();
    const send = (cseq: number, auth?: string): Promise<SipResponse> => {
      const req = createRequest({
        method: "INVITE",
        uri: uri(`sip:+15551230001@127.0.0.1:${serverPort}`),
        from: { displayName: null, uri: uri(`sip:+15550100005@${address}`), params: { tag: fromTag } },
        to: { displayName: null, uri: uri(`sip:+15551230001@127.0.0.1:${serverPort}`), params: {} },
        callId,
        cseq,
        contact: [{ displayName: null, uri: uri(`sip:pbx@${address}`), params: {} }],
        headers: auth === undefined ? [] : [{ name: "Proxy-Authorization", value: auth }],
      });
      return new Promise((resolve) => stack.transactions.sendRequest(req, target, { onFinal: (res) => resolve(res) }));
    };
    const first = await send(1);
    if (first.status !== 407) return [first.status];
    const challenge = first.headers.find((h) => h.name.toLowerCase() === "proxy-authenticate")?.value;
    assert.ok(challenge !== undefined);
    const auth = answerChallenge({ challenge, method: "INVITE", uri: `sip:+15551230001@127.0.0.1:${serverPort}`, username: "acme", password });
    const second = await send(2, auth);
    return [first.status, second.status];
  } finally {
    await stack.close();
  }
}

describe("security.auth.accountLock", () => {
  test("failures from two sources lock the account; the right password from a third source then gets 403 and an account-locked event", async () => {
    const server = await start(await freePort("127.0.2.1"), [
      "security:",
      "  auth:",
      "    maxFailures: 50",
      "    perAccount: { maxFailures: 2, windowSeconds: 60 }",
      "    accountLock: { enabled: true, baseSeconds: 600, maxSeconds: 3600 }",
    ]);
    try {
      assert.deepEqual(await invite(server.port, "127.0.5.1", "wrong-1"), [407, 403]);
      assert.equal(server.handle.security.accountLock("acme"), undefined, "one failure does not lock");
      assert.deepEqual(await invite(server.port, "127.0.5.2", "wrong-2"), [407, 403]);
      assert.ok(server.handle.security.accountLock("acme") !== undefined, "locked");
      // The right password, from a source that never failed: refused unchecked while the lock holds.
      assert.deepEqual(await invite(server.port, "127.0.5.3", PASSWORD), [407, 403]);
      const events = server.logs.flatMap((l) => l.split("\n")).filter((l) => l.includes('"security":true')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const locked = events.find((e) => e["reason"] === "account-locked");
      assert.ok(locked !== undefined, "account-locked security event");
      assert.match(String(locked["source"]), /^127\.0\.5\.3:/);
      assert.ok(events.some((e) => e["action"] === "lock-account"), "the lock itself is a security event");
      assert.equal(server.logs.join("").includes(PASSWORD), false, "no password in the log");
    } finally {
      await server.handle.stop();
    }
  });
});
