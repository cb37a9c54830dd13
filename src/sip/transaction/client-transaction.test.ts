import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock } from "../../lib/index.ts";
import { withItem, withParam } from "../message/index.ts";
import type { SipResponse } from "../message/index.ts";
import { createTransactionLayer } from "./index.ts";
import type { ClientTransaction, ResponseSource } from "./index.ts";
import { FakeTransport, flush, inbound, makeRequest, makeResponse, target } from "../../../test/support/fake-transport.ts";

const T1 = 500;
const T2 = 4000;
const T4 = 5000;

function setup(timerC: number | null = null) {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const layer = createTransactionLayer({ transport, clock, timers: { t1: T1, t2: T2, t4: T4, timerC } });
  const finals: Array<{ response: SipResponse; source: ResponseSource }> = [];
  const provisionals: SipResponse[] = [];
  const extra2xx: SipResponse[] = [];
  const user = {
    onProvisional: (r: SipResponse) => void provisionals.push(r),
    onFinal: (response: SipResponse, _tx: ClientTransaction, source: ResponseSource) => void finals.push({ response, source }),
    onAdditional2xx: (r: SipResponse) => void extra2xx.push(r),
  };
  return { clock, transport, layer, finals, provisionals, extra2xx, user };
}

/** Times (ms since start) at which requests of a method went out, driven by the fake clock. */
function sendTimes(clock: FakeClock, transport: FakeTransport, method: string, until: number): number[] {
  const times: number[] = [];
  let seen = 0;
  for (let t = 0; t <= until; t += 50) {
    const n = transport.requests(method).length;
    for (; seen < n; seen++) times.push(t);
    clock.advance(50);
  }
  return times;
}

describe("INVITE client transaction (RFC 3261 17.1.1, RFC 6026)", () => {
  it("sets a top Via branch with the magic cookie when the TU left none", () => {
    const { layer, user } = setup();
    const invite = makeRequest("INVITE", { branch: null });
    const tx = layer.sendRequest(invite, target("UDP"), user);
    assert.match(tx.branch, /^z9hG4bK/);
    assert.equal(invite.via[0]?.params["branch"], tx.branch);
    layer.close();
  });

  it("MUST retransmit on Timer A over UDP, doubling the interval from T1 (no T2 cap for INVITE)", () => {
    const { clock, transport, layer, user } = setup();
    layer.sendRequest(makeRequest("INVITE"), target("UDP"), user);
    // Seven transmissions: at 0, T1, 3T1, 7T1, 15T1, 31T1, 63T1 (17.1.1.2), then Timer B at 64T1.
    assert.deepEqual(sendTimes(clock, transport, "INVITE", 64 * T1 - 50), [0, 500, 1500, 3500, 7500, 15500, 31500]);
    layer.close();
  });

  it("SHOULD NOT start Timer A over a reliable transport", () => {
    const { clock, transport, layer, user } = setup();
    layer.sendRequest(makeRequest("INVITE"), target("TCP"), user);
    clock.advance(20_000);
    assert.equal(transport.requests("INVITE").length, 1);
    layer.close();
  });

  it("stops Timer A when the transport moved the request to TCP (18.1.1)", async () => {
    const { clock, transport, layer, user } = setup();
    transport.resolveProtocol = "TCP";
    const tx = layer.sendRequest(makeRequest("INVITE"), target("UDP"), user);
    await flush();
    clock.advance(10_000);
    assert.equal(transport.requests("INVITE").length, 1);
    assert.equal(tx.target.protocol, "TCP");
    layer.close();
  });

  it("Timer B in Calling informs the TU of a timeout with a 408 and terminates", () => {
    const { clock, layer, finals, user } = setup();
    const tx = layer.sendRequest(makeRequest("INVITE"), target("UDP"), user);
    clock.advance(64 * T1 - 1);
    assert.equal(finals.length, 0);
    clock.advance(1);
    assert.equal(finals.length, 1);
    assert.equal(finals[0]?.response.status, 408);
    assert.equal(finals[0]?.source, "timeout");
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
  });

  it("a provisional response moves it to Proceeding, stops Timer A and Timer B has no effect", () => {
    const { clock, transport, layer, finals, provisionals, user } = setup();
    const invite = makeRequest("INVITE");
    const tx = layer.sendRequest(invite, target("UDP"), user);
    transport.receive(makeResponse(invite, 180));
    assert.equal(tx.state, "Proceeding");
    assert.equal(provisionals.length, 1);
    clock.advance(64 * T1 + 1000);
    assert.equal(transport.requests("INVITE").length, 1);
    assert.equal(finals.length, 0);
    layer.close();
  });

  it("MUST generate the ACK for a non-2xx final (17.1.1.3) and absorb retransmissions until Timer D", () => {
    const route = [{ displayName: null, uri: { scheme: "sip" as const, user: null, password: null, host: "p1.example.com", port: null, params: { lr: null }, headers: [] }, params: {} }];
    const { clock, transport, layer, finals, user } = setup();
    const invite = makeRequest("INVITE", { route });
    const tx = layer.sendRequest(invite, target("UDP"), user);
    transport.receive(makeResponse(invite, 100, null));
    const busy = makeResponse(invite, 486, "callee-tag");
    transport.receive(busy);
    assert.equal(tx.state, "Completed");
    assert.equal(finals.length, 1);
    assert.equal(finals[0]?.response.status, 486);
    assert.equal(finals[0]?.source, "network");
    const acks = transport.requests("ACK");
    assert.equal(acks.length, 1);
    const ack = acks[0]!;
    assert.equal(ack.uri, invite.uri);
    assert.equal(ack.callId, invite.callId);
    assert.deepEqual(ack.from, invite.from);
    assert.deepEqual(ack.cseq, { seq: invite.cseq.seq, method: "ACK" });
    assert.equal(ack.to.params["tag"], "callee-tag");
    assert.equal(ack.via.length, 1);
    assert.equal(ack.via[0]?.params["branch"], tx.branch);
    assert.deepEqual(ack.route, route);
    // Retransmitted final: ACK again, TU not told twice.
    transport.receive(makeResponse(invite, 486, "callee-tag"));
    assert.equal(transport.requests("ACK").length, 2);
    assert.equal(finals.length, 1);
    clock.advance(31_999);
    assert.equal(tx.state, "Completed");
    clock.advance(1);
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
  });

  it("Timer D is zero over a reliable transport", () => {
    const { transport, layer, user } = setup();
    const invite = makeRequest("INVITE");
    const tx = layer.sendRequest(invite, target("TCP"), user);
    transport.receive(makeResponse(invite, 503));
    assert.equal(transport.requests("ACK").length, 1);
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
  });

  it("RFC 6026: a 2xx moves it to Accepted, passes 2xx retransmissions up, and Timer M terminates it", () => {
    const { clock, transport, layer, finals, extra2xx, user } = setup();
    const invite = makeRequest("INVITE");
    const tx = layer.sendRequest(invite, target("UDP"), user);
    transport.receive(makeResponse(invite, 200));
    assert.equal(tx.state, "Accepted");
    assert.equal(finals.length, 1);
    assert.equal(transport.requests("ACK").length, 0, "the ACK for a 2xx is the TU's");
    transport.receive(makeResponse(invite, 200));
    transport.receive(makeResponse(invite, 200, "other-fork"));
    assert.equal(extra2xx.length, 2);
    assert.equal(finals.length, 1);
    clock.advance(64 * T1 - 1);
    assert.equal(tx.state, "Accepted");
    clock.advance(1);
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
  });

  it("a 2xx after Timer M is a stray response for the TU", () => {
    const { clock, transport, layer, user } = setup();
    const strays: SipResponse[] = [];
    layer.onStrayResponse((r) => void strays.push(r));
    const invite = makeRequest("INVITE");
    layer.sendRequest(invite, target("UDP"), user);
    transport.receive(makeResponse(invite, 200));
    clock.advance(64 * T1);
    transport.receive(makeResponse(invite, 200));
    assert.equal(strays.length, 1);
  });

  it("MUST treat a transport error as a 503 (8.1.3.1) and terminate", async () => {
    const { clock, transport, layer, finals, user } = setup();
    transport.failRequests = true;
    const tx = layer.sendRequest(makeRequest("INVITE"), target("TCP"), user);
    await flush();
    assert.equal(finals.length, 1);
    assert.equal(finals[0]?.response.status, 503);
    assert.equal(finals[0]?.source, "transport");
    assert.equal(tx.transportError?.code, "ERR_TRANSPORT_CONNECT");
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
  });

  it("matches responses by branch and CSeq method (17.1.3)", () => {
    const { transport, layer, finals, user } = setup();
    const strays: SipResponse[] = [];
    layer.onStrayResponse((r) => void strays.push(r));
    const invite = makeRequest("INVITE");
    layer.sendRequest(invite, target("UDP"), user);
    const wrongMethod = makeResponse(invite, 200);
    wrongMethod.cseq = { ...wrongMethod.cseq, method: "BYE" };
    transport.receive(wrongMethod);
    const wrongBranch = makeResponse(invite, 200);
    wrongBranch.via = withItem(wrongBranch.via, 0, withParam(wrongBranch.via[0]!, "branch", "z9hG4bKother"));
    transport.receive(wrongBranch);
    assert.equal(strays.length, 2);
    assert.equal(finals.length, 0);
    layer.close();
  });

  it("refuses ACK and a reused branch (bugs in the TU)", () => {
    const { layer, user } = setup();
    assert.throws(() => layer.sendRequest(makeRequest("ACK"), target("UDP"), user));
    const invite = makeRequest("INVITE", { branch: "z9hG4bKsame" });
    layer.sendRequest(invite, target("UDP"), user);
    assert.throws(() => layer.sendRequest(makeRequest("INVITE", { branch: "z9hG4bKsame" }), target("UDP"), user));
    layer.close();
  });
});

describe("CANCEL of an INVITE client transaction (RFC 3261 9.1)", () => {
  it("MUST NOT send the CANCEL before a provisional response; sends it once one arrives", () => {
    const { transport, layer, user } = setup();
    const invite = makeRequest("INVITE", { route: [] });
    const tx = layer.sendRequest(invite, target("UDP"), user);
    assert.equal(layer.cancel(tx, { reason: 'SIP;cause=200;text="Call completed elsewhere"' }), true);
    assert.equal(transport.requests("CANCEL").length, 0);
    transport.receive(makeResponse(invite, 100, null));
    const cancels = transport.requests("CANCEL");
    assert.equal(cancels.length, 1);
    const cancel = cancels[0]!;
    assert.equal(cancel.uri, invite.uri);
    assert.equal(cancel.callId, invite.callId);
    assert.deepEqual(cancel.to, invite.to);
    assert.deepEqual(cancel.from, invite.from);
    assert.deepEqual(cancel.cseq, { seq: invite.cseq.seq, method: "CANCEL" });
    assert.equal(cancel.via.length, 1);
    assert.deepEqual(cancel.via[0], invite.via[0]);
    assert.deepEqual(cancel.headers, [{ name: "Reason", value: 'SIP;cause=200;text="Call completed elsewhere"' }]);
    layer.close();
  });

  it("runs the CANCEL as its own transaction beside the INVITE; the 487 completes the INVITE", () => {
    const { clock, transport, layer, finals, user } = setup();
    const invite = makeRequest("INVITE");
    const tx = layer.sendRequest(invite, target("UDP"), user);
    transport.receive(makeResponse(invite, 180));
    const cancelFinals: number[] = [];
    layer.cancel(tx, { onFinal: (r) => void cancelFinals.push(r.status) });
    assert.equal(layer.size().client, 2);
    const cancel = transport.requests("CANCEL")[0]!;
    transport.receive(makeResponse(cancel, 200));
    transport.receive(makeResponse(invite, 487));
    assert.deepEqual(cancelFinals, [200]);
    assert.equal(finals[0]?.response.status, 487);
    assert.equal(transport.requests("ACK").length, 1);
    clock.advance(32_000);
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
  });

  it("returns false once the INVITE has a final response, and drops a queued CANCEL on a final", () => {
    const { transport, layer, user } = setup();
    const invite = makeRequest("INVITE");
    const tx = layer.sendRequest(invite, target("UDP"), user);
    layer.cancel(tx);
    transport.receive(makeResponse(invite, 200));
    assert.equal(transport.requests("CANCEL").length, 0);
    assert.equal(layer.cancel(tx), false);
    layer.close();
  });

  it("gives the INVITE up 64*T1 after the CANCEL when no final response comes", () => {
    const { clock, transport, layer, finals, user } = setup();
    const invite = makeRequest("INVITE");
    const tx = layer.sendRequest(invite, target("UDP"), user);
    transport.receive(makeResponse(invite, 183));
    layer.cancel(tx);
    clock.advance(64 * T1);
    assert.equal(finals.length, 1);
    assert.equal(finals[0]?.response.status, 408);
    assert.equal(finals[0]?.source, "timeout");
    clock.advance(T4);
    assert.equal(layer.size().total, 0);
  });

  it("Timer C (16.6) CANCELs an INVITE stuck in Proceeding; 101-199 reset it", () => {
    const { clock, transport, layer, user } = setup(60_000);
    const invite = makeRequest("INVITE");
    const tx = layer.sendRequest(invite, target("UDP"), user);
    transport.receive(makeResponse(invite, 100, null));
    clock.advance(40_000);
    transport.receive(makeResponse(invite, 180));
    clock.advance(59_999);
    assert.equal(transport.requests("CANCEL").length, 0);
    clock.advance(1);
    assert.equal(transport.requests("CANCEL").length, 1);
    assert.equal(tx.cancelRequested, true);
    layer.close();
  });
});

describe("non-INVITE client transaction (RFC 3261 17.1.2)", () => {
  it("Timer E doubles from T1 up to T2 in Trying over UDP", () => {
    const { clock, transport, layer, user } = setup();
    layer.sendRequest(makeRequest("OPTIONS"), target("UDP"), user);
    // Intervals 500, 1000, 2000, 4000, 4000, ... until Timer F at 32 s.
    assert.deepEqual(sendTimes(clock, transport, "OPTIONS", 64 * T1 - 50), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    layer.close();
  });

  it("Timer E fires every T2 once Proceeding", () => {
    const { clock, transport, layer, user } = setup();
    const req = makeRequest("REGISTER");
    layer.sendRequest(req, target("UDP"), user);
    clock.advance(T1); // first retransmission; next Timer E due in 2*T1
    transport.receive(makeResponse(req, 100, null));
    const before = transport.requests("REGISTER").length;
    clock.advance(2 * T1); // Timer E fires, resets to T2
    clock.advance(T2);
    assert.equal(transport.requests("REGISTER").length, before + 2);
    layer.close();
  });

  it("no Timer E over TCP; Timer F gives a 408 to the TU", () => {
    const { clock, transport, layer, finals, user } = setup();
    layer.sendRequest(makeRequest("BYE"), target("TCP"), user);
    clock.advance(64 * T1);
    assert.equal(transport.requests("BYE").length, 1);
    assert.equal(finals[0]?.response.status, 408);
    assert.equal(finals[0]?.source, "timeout");
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
  });

  it("Timer K absorbs final response retransmissions for T4 over UDP", () => {
    const { clock, transport, layer, finals, user } = setup();
    const req = makeRequest("BYE");
    const tx = layer.sendRequest(req, target("UDP"), user);
    transport.receive(makeResponse(req, 200));
    transport.receive(makeResponse(req, 200));
    assert.equal(finals.length, 1);
    assert.equal(tx.state, "Completed");
    clock.advance(T4 - 1);
    assert.equal(tx.state, "Completed");
    clock.advance(1);
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
  });

  it("Timer K is zero over TCP", () => {
    const { transport, layer, user } = setup();
    const req = makeRequest("INFO");
    const tx = layer.sendRequest(req, target("TCP"), user);
    transport.receive(makeResponse(req, 200), inbound("TCP"));
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
  });

  it("a transport error is a 503 for the TU", async () => {
    const { transport, layer, finals, user } = setup();
    transport.failRequests = true;
    layer.sendRequest(makeRequest("OPTIONS"), target("UDP"), user);
    await flush();
    assert.equal(finals[0]?.response.status, 503);
    assert.equal(finals[0]?.source, "transport");
    assert.equal(layer.size().total, 0);
  });
});

describe("ACK for a 2xx (RFC 3261 13.2.2.4)", () => {
  it("sendAck gives the ACK a fresh branch and sends it without a transaction", async () => {
    const { transport, layer } = setup();
    const ack = makeRequest("ACK", { branch: null });
    ack.via = [];
    const used = await layer.sendAck(ack, target("UDP"));
    assert.equal(used.protocol, "UDP");
    assert.match(String(ack.via[0]?.params["branch"]), /^z9hG4bK/);
    assert.equal(transport.requests("ACK").length, 1);
    assert.equal(layer.size().total, 0);
  });

  it("an incoming ACK that matches no transaction goes to onAck", () => {
    const { transport, layer } = setup();
    const acks: string[] = [];
    layer.onAck((ack) => void acks.push(ack.method));
    transport.receive(makeRequest("ACK"));
    assert.deepEqual(acks, ["ACK"]);
    assert.equal(layer.size().total, 0);
  });
});
