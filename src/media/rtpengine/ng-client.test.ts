import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type RemoteInfo, type Socket, createSocket } from "node:dgram";
import { once } from "node:events";
import { type BencodeDict, decodeBencode, encodeBencode } from "./bencode.ts";
import { type NgClient, createNgClient } from "./ng-client.ts";

/** A scripted ng server on loopback: `reply` decides what (if anything) each request gets back. */
interface FakeServer {
  readonly port: number;
  readonly requests: { cookie: string; dict: BencodeDict }[];
  close(): void;
}

let server: FakeServer | undefined;
let client: NgClient | undefined;

afterEach(async () => {
  await client?.close();
  server?.close();
  client = undefined;
  server = undefined;
});

async function fakeServer(reply: (dict: BencodeDict, n: number) => Buffer | BencodeDict | null): Promise<FakeServer> {
  const s: Socket = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  const requests: { cookie: string; dict: BencodeDict }[] = [];
  s.on("message", (msg: Buffer, from: RemoteInfo) => {
    const space = msg.indexOf(0x20);
    const cookie = msg.toString("latin1", 0, space);
    const decoded = decodeBencode(msg, space + 1);
    assert.ok(decoded.ok);
    const dict = decoded.value as BencodeDict;
    requests.push({ cookie, dict });
    const r = reply(dict, requests.length);
    if (r === null) return;
    const body = Buffer.isBuffer(r) ? r : encodeBencode(r);
    s.send(Buffer.concat([Buffer.from(`${cookie} `), body]), from.port, from.address);
  });
  return { port: s.address().port, requests, close: () => s.close() };
}

describe("ng client", () => {
  test("sends cookie + bencoded dict with the command and returns the reply dict", async () => {
    server = await fakeServer((d) => (d["command"] === "ping" ? { result: "pong" } : { result: "ok", sdp: "v=0\r\n" }));
    client = createNgClient({ address: "127.0.0.1", port: server.port });
    const pong = await client.ping();
    assert.ok(pong.ok);
    const offer = await client.offer({ "call-id": "c1", "from-tag": "a", sdp: "v=0\r\n", flags: ["trust-address"] });
    assert.ok(offer.ok);
    assert.equal(offer.value.sdp, "v=0\r\n");
    const sent = server.requests[1]!.dict;
    assert.equal(sent["command"], "offer");
    assert.equal(sent["call-id"], "c1");
    assert.deepEqual([...(sent["flags"] as string[])], ["trust-address"]);
    assert.notEqual(server.requests[0]!.cookie, server.requests[1]!.cookie, "each request has its own cookie");
  });

  test("result error becomes NG_ERROR with rtpengine's error-reason", async () => {
    server = await fakeServer(() => ({ result: "error", "error-reason": "Unknown call-id" }));
    client = createNgClient({ address: "127.0.0.1", port: server.port });
    const r = await client.query({ "call-id": "nope" });
    assert.ok(!r.ok);
    assert.equal(r.error.code, "NG_ERROR");
    assert.equal(r.error.reason, "Unknown call-id");
  });

  test("load limit becomes NG_LOAD_LIMIT", async () => {
    server = await fakeServer(() => ({ result: "load limit" }));
    client = createNgClient({ address: "127.0.0.1", port: server.port });
    const r = await client.offer({ "call-id": "c", "from-tag": "a", sdp: "v=0\r\n" });
    assert.ok(!r.ok);
    assert.equal(r.error.code, "NG_LOAD_LIMIT");
  });

  test("a reply that is not bencode, not a dict, or an offer reply without sdp is NG_BAD_REPLY", async () => {
    const replies: (Buffer | BencodeDict)[] = [Buffer.from("d6:result"), Buffer.from("le"), { result: "ok" }, { result: "maybe" }];
    server = await fakeServer((_d, n) => replies[n - 1] ?? null);
    const c = createNgClient({ address: "127.0.0.1", port: server.port });
    client = c;
    for (let i = 0; i < replies.length; i++) {
      const r = await c.offer({ "call-id": "c", "from-tag": "a", sdp: "v=0\r\n" });
      assert.ok(!r.ok, `reply ${i} accepted`);
      assert.equal(r.error.code, "NG_BAD_REPLY", `reply ${i}`);
    }
  });

  test("a lost datagram is retransmitted with the same cookie; the reply to the retransmission counts", async () => {
    // The first two copies go unanswered, as if lost on the way.
    server = await fakeServer((_d, n) => (n < 3 ? null : { result: "pong" }));
    client = createNgClient({ address: "127.0.0.1", port: server.port, timeoutMs: 5000, retransmitMs: 20 });
    const r = await client.ping();
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(server.requests.length, 3);
    assert.equal(new Set(server.requests.map((q) => q.cookie)).size, 1, "retransmissions reuse the cookie");
  });

  test("no reply at all is NG_TIMEOUT after the retransmissions", async () => {
    server = await fakeServer(() => null);
    client = createNgClient({ address: "127.0.0.1", port: server.port, timeoutMs: 200, retransmitMs: 20 });
    const r = await client.ping();
    assert.ok(!r.ok);
    assert.equal(r.error.code, "NG_TIMEOUT");
    // Copies at 0, 20, 60 and 140 ms; the last may still be in flight when the timeout settles.
    assert.ok(server.requests.length >= 3 && server.requests.length <= 4, `${server.requests.length} copies`);
    assert.equal(new Set(server.requests.map((q) => q.cookie)).size, 1);
  });

  test("close() fails pending requests with NG_CLOSED and later ones at once", async () => {
    server = await fakeServer(() => null);
    client = createNgClient({ address: "127.0.0.1", port: server.port, timeoutMs: 10_000 });
    const pending = client.ping();
    await new Promise((r) => setImmediate(r));
    await client.close();
    const r = await pending;
    assert.ok(!r.ok);
    assert.equal(r.error.code, "NG_CLOSED");
    const later = await client.query({ "call-id": "x" });
    assert.ok(!later.ok);
    assert.equal(later.error.code, "NG_CLOSED");
  });
});
