import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildMalformedReply, createRequest, createResponse, parseMessage, parseNameAddr, parseUri, parseVia, reasonPhrase, serializeMessage, withParam } from "./index.ts";
import type { SipResponse } from "./index.ts";

function invite() {
  return createRequest({
    method: "INVITE",
    uri: parseUri("sip:bob@biloxi.com")!,
    from: parseNameAddr("Alice <sip:alice@atlanta.com>;tag=1928301774")!,
    to: parseNameAddr("Bob <sip:bob@biloxi.com>")!,
    callId: "a84b4c76e66710",
    cseq: 314159,
    via: parseVia("SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8")!,
  });
}

describe("createRequest", () => {
  it("fills RFC 3261 8.1.1 defaults", () => {
    const r = invite();
    assert.equal(r.maxForwards, 70);
    assert.deepEqual(r.cseq, { seq: 314159, method: "INVITE" });
    assert.deepEqual([r.contact, r.route, r.recordRoute, r.headers], [[], [], [], []]);
    assert.equal(r.body.length, 0);
    const back = parseMessage(serializeMessage(r));
    assert.ok(back.ok);
    assert.deepEqual(back.message, r);
  });
});

describe("createResponse (RFC 3261 8.2.6.2)", () => {
  it("copies Via (all, in order), From, Call-ID, CSeq and To, and adds the To tag", () => {
    const req = invite();
    const res = createResponse(req, 180, undefined, { toTag: "a6c85cf" });
    assert.equal(res.reason, "Ringing");
    assert.deepEqual(res.via, req.via);
    assert.deepEqual(res.from, req.from);
    assert.equal(res.callId, req.callId);
    assert.deepEqual(res.cseq, req.cseq);
    assert.equal(res.to.params["tag"], "a6c85cf");
    assert.equal(req.to.params["tag"], undefined, "the request is not changed");
  });

  it("never tags a 100 and keeps an existing To tag", () => {
    assert.equal(createResponse(invite(), 100, undefined, { toTag: "x" }).to.params["tag"], undefined);
    const req = invite();
    req.to = withParam(req.to, "tag", "existing");
    assert.equal(createResponse(req, 200, "OK", { toTag: "x" }).to.params["tag"], "existing");
  });

  it("carries body and content type and serializes", () => {
    const res = createResponse(invite(), 200, undefined, { toTag: "t", body: Buffer.from("v=0\r\n"), contentType: "application/sdp" });
    const back = parseMessage(serializeMessage(res));
    assert.ok(back.ok);
    assert.equal((back.message as SipResponse).status, 200);
    assert.equal(back.message.body.toString(), "v=0\r\n");
  });
});

describe("buildMalformedReply", () => {
  it("drops responses and ACKs, answers other requests with 400 and a Warning", () => {
    const bad = (start: string) => parseMessage(Buffer.from(`${start}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n`));
    const ack = bad("ACK sip:c@d SIP/2.0");
    assert.ok(!ack.ok);
    assert.equal(buildMalformedReply(ack.error), null);
    const resp = parseMessage(Buffer.from("SIP/2.0 999 Odd\r\nVia: SIP/2.0/UDP h\r\n\r\n"));
    assert.ok(!resp.ok);
    assert.equal(buildMalformedReply(resp.error), null);
    const opt = bad("OPTIONS sip:c@d SIP/2.0");
    assert.ok(!opt.ok);
    const text = buildMalformedReply(opt.error)!.toString();
    assert.match(text, /^SIP\/2\.0 400 Bad Request\r\n/);
    assert.match(text, /\r\nWarning: 399 trunkline "CSeq method does not match the request method"\r\n/);
    assert.match(text, /\r\nTo: <sip:c@d>;tag=\S+\r\n/);
  });

  it("gives reason phrases", () => {
    assert.equal(reasonPhrase(486), "Busy Here");
    assert.equal(reasonPhrase(499), "Client Error");
  });
});
