// The stack's counters over real loopback sockets: every message on the wire by direction, method
// and status (retransmissions included), and transactions that time out, by side and method.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { newCallId, newTag } from "../lib/index.ts";
import { createRequest, createSipStack, parseUri, type SendTarget, type SipResponse, type SipStack, type Uri } from "./index.ts";

function uri(text: string): Uri {
  const u = parseUri(text);
  if (u === null) throw new Error(`bad uri ${text}`);
  return u;
}

function request(method: string, to: string): ReturnType<typeof createRequest> {
  const aor = { displayName: null, uri: uri(`sip:${to}`), params: {} };
  return createRequest({ method, uri: uri(`sip:${to}`), from: { ...aor, params: { tag: newTag() } }, to: aor, callId: newCallId(), cseq: 1 });
}

describe("stack counters", () => {
  let a: SipStack;
  let b: SipStack;
  let fast: SipStack;
  let silent: Socket;
  let silentGot = 0;
  const sent: Array<"in" | "out"> = [];

  before(async () => {
    // A tap given by the caller still sees every message after the counters.
    a = await createSipStack({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }], tap: { observe: (direction) => void sent.push(direction) } });
    b = await createSipStack({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }] });
    // Timers 100x faster than RFC 3261's, so Timer B (64 x T1) fires after 320 ms.
    fast = await createSipStack({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }], timers: { t1: 5, t2: 40, t4: 50 } });
    silent = createSocket("udp4");
    silent.on("message", () => void silentGot++);
    await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
  });
  after(async () => {
    await a.close();
    await b.close();
    await fast.close();
    silent.close();
  });

  const send = (stack: SipStack, method: string, target: SendTarget): Promise<{ response: SipResponse; source: string }> =>
    new Promise((resolve) => stack.transactions.sendRequest(request(method, "x@example.com"), target, { onFinal: (response, _tx, source) => resolve({ response, source }) }));

  test("counts requests and responses on the wire by direction, method and status", async () => {
    const port = b.transport.listening()[0]?.endpoint.port ?? 0;
    const { response } = await send(a, "OPTIONS", { protocol: "UDP", remote: { address: "127.0.0.1", port } });
    assert.equal(response.status, 200);
    assert.equal(a.counters.wire.out.requests.get("OPTIONS"), 1);
    assert.equal(a.counters.wire.in.responses.get(200)?.get("OPTIONS"), 1);
    assert.equal(b.counters.wire.in.requests.get("OPTIONS"), 1);
    assert.equal(b.counters.wire.out.responses.get(200)?.get("OPTIONS"), 1);
    assert.equal(b.counters.requestsIn.get("OPTIONS"), 1);
    assert.deepEqual(sent, ["out", "in"]);
  });

  test("a client transaction with no answer counts its retransmissions on the wire and one timeout", async () => {
    const port = silent.address().port;
    const { response, source } = await send(fast, "INVITE", { protocol: "UDP", remote: { address: "127.0.0.1", port } });
    assert.equal(response.status, 408);
    assert.equal(source, "timeout");
    assert.equal(fast.counters.timeouts.get("client INVITE"), 1);
    // Timer A resends until Timer B (RFC 3261 17.1.1.2): every copy is counted, as many as reached the peer.
    const out = fast.counters.wire.out.requests.get("INVITE") ?? 0;
    assert.ok(out >= 3, `${out} INVITEs sent`);
    for (let i = 0; i < 50 && silentGot < out; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(silentGot, out);
    const { source: again } = await send(fast, "OPTIONS", { protocol: "UDP", remote: { address: "127.0.0.1", port } });
    assert.equal(again, "timeout");
    assert.equal(fast.counters.timeouts.get("client OPTIONS"), 1);
    assert.equal(a.counters.timeouts.size, 0);
  });
});
