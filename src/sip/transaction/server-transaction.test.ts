import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock } from "../../lib/index.ts";
import { createResponse, type SipRequest } from "../message/index.ts";
import type { InboundContext } from "../transport/index.ts";
import { createTransactionLayer } from "./index.ts";
import type { ServerFailure, ServerTransaction } from "./index.ts";
import { FakeTransport, flush, inbound, makeRequest } from "../../../test/support/fake-transport.ts";

const T1 = 500;
const T2 = 4000;
const T4 = 5000;

function setup() {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const layer = createTransactionLayer({ transport, clock, timers: { t1: T1, t2: T2, t4: T4 } });
  const txs: ServerTransaction[] = [];
  const acks: SipRequest[] = [];
  const failures: ServerFailure[] = [];
  layer.onRequest((_request, tx) => {
    tx.onfailure = (failure) => void failures.push(failure);
    txs.push(tx);
  });
  layer.onAck((ack) => void acks.push(ack));
  return { clock, transport, layer, txs, acks, failures };
}

/** The ACK a UAC sends for a non-2xx final: same branch as the INVITE (17.1.1.3). */
function ackFor(invite: SipRequest): SipRequest {
  return { ...invite, method: "ACK", cseq: { seq: invite.cseq.seq, method: "ACK" }, to: { ...invite.to, params: { tag: "uas" } } };
}

function udp(): InboundContext {
  return inbound("UDP");
}

describe("INVITE server transaction (RFC 3261 17.2.1, RFC 6026)", () => {
  it("passes a new INVITE to the TU once and replays the last provisional on retransmission", () => {
    const { transport, layer, txs } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, udp());
    assert.equal(txs.length, 1);
    const tx = txs[0]!;
    assert.equal(tx.state, "Proceeding");
    tx.respond(createResponse(invite, 180, undefined, { toTag: "uas" }));
    transport.receive(makeRequest("INVITE", { branch: invite.via[0]!.params["branch"]! }), udp());
    assert.equal(txs.length, 1);
    assert.equal(transport.responses(180).length, 2);
    layer.close();
  });

  it("MUST send 100 Trying when the TU has not answered within 200 ms, without a To tag", () => {
    const { clock, transport, layer, txs } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, udp());
    clock.advance(199);
    assert.equal(transport.responses().length, 0);
    clock.advance(1);
    const trying = transport.responses(100);
    assert.equal(trying.length, 1);
    assert.equal(trying[0]?.to.params["tag"], undefined);
    // A retransmission now gets the 100 again.
    transport.receive(invite, udp());
    assert.equal(transport.responses(100).length, 2);
    txs[0]!.respond(createResponse(invite, 180, undefined, { toTag: "uas" }));
    layer.close();
  });

  it("sends no 100 Trying when the TU answers within 200 ms", () => {
    const { clock, transport, layer, txs } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, udp());
    clock.advance(50);
    txs[0]!.respond(createResponse(invite, 183, undefined, { toTag: "uas" }));
    clock.advance(1000);
    assert.equal(transport.responses(100).length, 0);
    layer.close();
  });

  it("retransmits a non-2xx final on Timer G (T1 doubling up to T2) until Timer H, then reports a timeout", () => {
    const { clock, transport, layer, txs, failures } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, udp());
    const tx = txs[0]!;
    tx.respond(createResponse(invite, 486, undefined, { toTag: "uas" }));
    assert.equal(tx.state, "Completed");
    const times: number[] = [];
    let seen = 1;
    for (let t = 0; t < 64 * T1; t += 50) {
      clock.advance(50);
      const n = transport.responses(486).length;
      for (; seen < n; seen++) times.push(t + 50);
    }
    assert.deepEqual(times, [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    assert.equal(tx.state, "Terminated");
    assert.deepEqual(failures, [{ code: "timeout" }]);
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
  });

  it("replays the final on an INVITE retransmission in Completed", () => {
    const { transport, layer, txs } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, udp());
    txs[0]!.respond(createResponse(invite, 404, undefined, { toTag: "uas" }));
    transport.receive(invite, udp());
    assert.equal(transport.responses(404).length, 2);
    layer.close();
  });

  it("absorbs the ACK for a non-2xx (Confirmed), then Timer I terminates after T4", () => {
    const { clock, transport, layer, txs, acks } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, udp());
    const tx = txs[0]!;
    tx.respond(createResponse(invite, 603, undefined, { toTag: "uas" }));
    transport.receive(ackFor(invite), udp());
    assert.equal(tx.state, "Confirmed");
    assert.equal(acks.length, 0);
    clock.advance(T1 * 4);
    assert.equal(transport.responses(603).length, 1, "Timer G stopped");
    transport.receive(ackFor(invite), udp());
    assert.equal(acks.length, 0);
    clock.advance(T4 - T1 * 4);
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
  });

  it("over TCP: no Timer G, and Timer I is zero", () => {
    const { clock, transport, layer, txs } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, inbound("TCP"));
    const tx = txs[0]!;
    tx.respond(createResponse(invite, 480, undefined, { toTag: "uas" }));
    clock.advance(10_000);
    assert.equal(transport.responses(480).length, 1);
    transport.receive(ackFor(invite), inbound("TCP"));
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
  });

  it("RFC 6026: a 2xx moves it to Accepted; INVITE retransmissions are absorbed, ACKs and TU 2xx pass through, Timer L ends it", () => {
    const { clock, transport, layer, txs, acks } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, udp());
    const tx = txs[0]!;
    const ok = createResponse(invite, 200, undefined, { toTag: "uas" });
    tx.respond(ok);
    assert.equal(tx.state, "Accepted");
    transport.receive(invite, udp());
    assert.equal(transport.responses(200).length, 1, "retransmitted INVITE absorbed");
    tx.respond(ok);
    assert.equal(transport.responses(200).length, 2, "TU retransmission of its 2xx goes out");
    const ack = { ...ackFor(invite), via: [{ ...invite.via[0]!, params: { branch: "z9hG4bKack2xx" } }] };
    transport.receive(ack, udp());
    transport.receive(ackFor(invite), udp());
    assert.equal(acks.length, 2, "both the new-branch ACK and a same-branch ACK reach the TU");
    clock.advance(64 * T1 - 1);
    assert.equal(tx.state, "Accepted");
    clock.advance(1);
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
  });

  it("a transport error in Proceeding terminates and informs the TU; in Accepted it only informs", async () => {
    const { clock, transport, layer, txs, failures } = setup();
    transport.failResponses = true;
    const a = makeRequest("INVITE");
    transport.receive(a, udp());
    txs[0]!.respond(createResponse(a, 180, undefined, { toTag: "uas" }));
    await flush();
    assert.equal(txs[0]!.state, "Terminated");
    const b = makeRequest("INVITE");
    transport.receive(b, udp());
    txs[1]!.respond(createResponse(b, 200, undefined, { toTag: "uas" }));
    await flush();
    assert.equal(txs[1]!.state, "Accepted");
    assert.equal(failures.length, 2);
    assert.equal(failures[0]?.code, "transport");
    clock.advance(64 * T1);
    assert.equal(layer.size().total, 0);
  });
});

describe("CANCEL at the server (RFC 3261 9.2)", () => {
  it("answers a matching CANCEL with 200 and tells the INVITE's TU, which answers 487", () => {
    const { clock, transport, layer, txs } = setup();
    const invite = makeRequest("INVITE");
    const cancelled: SipRequest[] = [];
    layer.onRequest((_r, tx) => {
      txs.push(tx);
      tx.oncancel = (cancel, t) => {
        cancelled.push(cancel);
        assert.ok(t.request !== null, "a cancelled INVITE is still Proceeding and keeps its request");
        t.respond(createResponse(t.request, 487, undefined, { toTag: "uas" }));
      };
    });
    transport.receive(invite, udp());
    txs[0]!.respond(createResponse(invite, 180, undefined, { toTag: "uas" }));
    const cancel = { ...makeRequest("CANCEL", { branch: invite.via[0]!.params["branch"]! }), cseq: { seq: invite.cseq.seq, method: "CANCEL" } };
    transport.receive(cancel, udp());
    assert.equal(txs.length, 1, "CANCEL is not handed to onRequest");
    assert.equal(cancelled.length, 1);
    assert.equal(txs[0]!.cancelled, true);
    const ok = transport.responses(200);
    assert.equal(ok.length, 1);
    assert.equal(ok[0]?.cseq.method, "CANCEL");
    assert.equal(ok[0]?.to.params["tag"], "uas");
    assert.equal(transport.responses(487).length, 1);
    // CANCEL retransmission gets the same 200 from the CANCEL's own transaction.
    transport.receive(cancel, udp());
    assert.equal(transport.responses(200).length, 2);
    assert.equal(cancelled.length, 1);
    transport.receive(ackFor(invite), udp());
    clock.advance(64 * T1);
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
  });

  it("sends the 487 itself when the TU set no oncancel handler", () => {
    const { transport, layer } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, udp());
    transport.receive(makeRequest("CANCEL", { branch: invite.via[0]!.params["branch"]! }), udp());
    assert.equal(transport.responses(487).length, 1);
    layer.close();
  });

  it("answers 200 but changes nothing once the INVITE has its final response", () => {
    const { transport, layer, txs } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, udp());
    txs[0]!.respond(createResponse(invite, 200, undefined, { toTag: "uas" }));
    transport.receive(makeRequest("CANCEL", { branch: invite.via[0]!.params["branch"]! }), udp());
    assert.equal(transport.responses(200).length, 2);
    assert.equal(transport.responses(487).length, 0);
    assert.equal(txs[0]!.cancelled, false);
    layer.close();
  });

  it("answers 481 to a CANCEL that matches no transaction", () => {
    const { clock, transport, layer } = setup();
    transport.receive(makeRequest("CANCEL"), udp());
    const r = transport.responses(481);
    assert.equal(r.length, 1);
    assert.equal(r[0]?.cseq.method, "CANCEL");
    clock.advance(64 * T1);
    assert.equal(layer.size().total, 0);
  });

  it("does not match a CANCEL from another sent-by", () => {
    const { transport, layer } = setup();
    const invite = makeRequest("INVITE");
    transport.receive(invite, udp());
    transport.receive(makeRequest("CANCEL", { branch: invite.via[0]!.params["branch"]!, sentBy: "evil.example.com" }), udp());
    assert.equal(transport.responses(481).length, 1);
    layer.close();
  });
});

describe("non-INVITE server transaction (RFC 3261 17.2.2)", () => {
  it("absorbs retransmissions in Trying, replays the provisional in Proceeding and the final in Completed", () => {
    const { transport, layer, txs } = setup();
    const req = makeRequest("OPTIONS");
    transport.receive(req, udp());
    transport.receive(req, udp());
    assert.equal(transport.responses().length, 0);
    assert.equal(txs.length, 1);
    const tx = txs[0]!;
    tx.respond(createResponse(req, 100));
    transport.receive(req, udp());
    assert.equal(transport.responses(100).length, 2);
    assert.equal(tx.request, req, "the request is there until the final response");
    tx.respond(createResponse(req, 200, undefined, { toTag: "uas" }));
    transport.receive(req, udp());
    assert.equal(transport.responses(200).length, 2);
    assert.equal(tx.state, "Completed");
    assert.equal(tx.request, null, "Completed keeps only the final response for Timer J, not the request");
    layer.close();
  });

  it("Timer J keeps the transaction for 64*T1 over UDP", () => {
    const { clock, transport, layer, txs } = setup();
    const req = makeRequest("BYE");
    transport.receive(req, udp());
    const tx = txs[0]!;
    tx.respond(createResponse(req, 200));
    clock.advance(64 * T1 - 1);
    assert.equal(tx.state, "Completed");
    clock.advance(1);
    assert.equal(tx.state, "Terminated");
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
  });

  it("Timer J is zero over TCP", () => {
    const { transport, layer, txs } = setup();
    const req = makeRequest("REGISTER");
    transport.receive(req, inbound("TLS"));
    txs[0]!.respond(createResponse(req, 200));
    assert.equal(txs[0]!.state, "Terminated");
    assert.equal(layer.size().total, 0);
  });

  it("answers 503 when no TU is registered", () => {
    const clock = new FakeClock();
    const transport = new FakeTransport();
    const layer = createTransactionLayer({ transport, clock });
    transport.receive(makeRequest("OPTIONS"), udp());
    assert.equal(transport.responses(503).length, 1);
    layer.close();
  });

  it("matches without the magic cookie by the RFC 2543 fallback", () => {
    const { transport, layer, txs } = setup();
    const req = makeRequest("OPTIONS", { branch: null });
    transport.receive(req, udp());
    txs[0]!.respond(createResponse(req, 200, undefined, { toTag: "uas" }));
    transport.receive(makeRequest("OPTIONS", { branch: null }), udp());
    assert.equal(txs.length, 1);
    assert.equal(transport.responses(200).length, 2);
    layer.close();
  });

  it("close() cancels every timer and forgets every transaction", () => {
    const { clock, transport, layer } = setup();
    transport.receive(makeRequest("INVITE"), udp());
    transport.receive(makeRequest("OPTIONS"), udp());
    assert.equal(layer.size().server, 2);
    layer.close();
    assert.equal(layer.size().total, 0);
    assert.equal(clock.pending(), 0);
    transport.receive(makeRequest("OPTIONS"), udp());
    assert.equal(layer.size().total, 0);
  });
});
