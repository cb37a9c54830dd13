import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NameAddr, SipRequest, SipResponse, SipUri } from "../message/index.ts";
import { Dialog, DialogStore, buildAck, buildBye, buildInDialogRequest, buildInfo, buildReInvite, buildUpdate, routeRequest } from "./index.ts";

function uri(user: string | null, host: string, params: Record<string, string | null> = {}): SipUri {
  return { scheme: "sip", user, password: null, host, port: null, params, headers: [] };
}

function na(u: SipUri, params: Record<string, string | null> = {}): NameAddr {
  return { displayName: null, uri: u, params };
}

const ALICE = uri("alice", "atlanta.example.com");
const BOB = uri("bob", "biloxi.example.com");
const ALICE_CONTACT = uri("alice", "pc33.atlanta.example.com");
const BOB_CONTACT = uri("bob", "192.0.2.4");
const P1 = uri(null, "p1.example.com", { lr: null });
const P2 = uri(null, "p2.example.com", { lr: null });
const STRICT1 = uri(null, "strict1.example.com");

function invite(recordRoute: NameAddr[] = [], seq = 1): SipRequest {
  return {
    kind: "request",
    method: "INVITE",
    uri: BOB,
    via: [{ transport: "UDP", host: "pc33.atlanta.example.com", port: null, params: { branch: "z9hG4bK1" } }],
    from: { displayName: "Alice", uri: ALICE, params: { tag: "alice-tag" } },
    to: na(BOB),
    callId: "call-1",
    cseq: { seq, method: "INVITE" },
    contact: [na(ALICE_CONTACT)],
    contactWildcard: false,
    route: [],
    recordRoute,
    maxForwards: 70,
    contentType: null,
    headers: [{ name: "Proxy-Authorization", value: "Digest username=\"alice\"" }],
    body: Buffer.alloc(0),
  };
}

function response(request: SipRequest, status: number, options: { contact?: SipUri | null; recordRoute?: NameAddr[]; toTag?: string } = {}): SipResponse {
  return {
    kind: "response",
    status,
    reason: "x",
    via: request.via,
    from: request.from,
    to: { ...request.to, params: { ...request.to.params, tag: options.toTag ?? "bob-tag" } },
    callId: request.callId,
    cseq: request.cseq,
    contact: options.contact === null ? [] : [na(options.contact ?? BOB_CONTACT)],
    contactWildcard: false,
    route: [],
    recordRoute: options.recordRoute ?? request.recordRoute,
    maxForwards: null,
    contentType: null,
    headers: [],
    body: Buffer.alloc(0),
  };
}

function peerRequest(dialog: Dialog, method: string, seq: number, contact?: SipUri): SipRequest {
  const req = invite();
  return {
    ...req,
    method,
    from: { ...req.to, params: { tag: dialog.id.remoteTag } },
    to: { ...req.from, params: { tag: dialog.id.localTag } },
    cseq: { seq, method },
    contact: contact === undefined ? [] : [na(contact)],
  };
}

function uac(status = 200, recordRoute: NameAddr[] = []): Dialog {
  const req = invite(recordRoute);
  const r = Dialog.asUac(req, response(req, status));
  assert.ok(r.ok);
  return r.value;
}

function uas(status = 200, recordRoute: NameAddr[] = []): Dialog {
  const req = invite(recordRoute);
  const r = Dialog.asUas(req, response(req, status, { contact: uri("bob", "uas.example.com") }));
  assert.ok(r.ok);
  return r.value;
}

describe("dialog creation (RFC 3261 12.1)", () => {
  const cases = [
    { role: "UAC", status: 180, state: "Early", localTag: "alice-tag", remoteTag: "bob-tag", target: BOB_CONTACT, localSeq: 1, remoteSeq: null },
    { role: "UAC", status: 200, state: "Confirmed", localTag: "alice-tag", remoteTag: "bob-tag", target: BOB_CONTACT, localSeq: 1, remoteSeq: null },
    { role: "UAS", status: 183, state: "Early", localTag: "bob-tag", remoteTag: "alice-tag", target: ALICE_CONTACT, localSeq: null, remoteSeq: 1 },
    { role: "UAS", status: 200, state: "Confirmed", localTag: "bob-tag", remoteTag: "alice-tag", target: ALICE_CONTACT, localSeq: null, remoteSeq: 1 },
  ] as const;
  for (const c of cases) {
    it(`${c.role} with a ${c.status} makes a ${c.state} dialog`, () => {
      const d = c.role === "UAC" ? uac(c.status) : uas(c.status);
      assert.equal(d.state, c.state);
      assert.deepEqual(d.id, { callId: "call-1", localTag: c.localTag, remoteTag: c.remoteTag });
      assert.equal(d.remoteTarget, c.target);
      assert.equal(d.localSeq, c.localSeq);
      assert.equal(d.remoteSeq, c.remoteSeq);
      assert.equal(d.localUri.params["tag"], undefined);
      assert.equal(d.remoteUri.params["tag"], undefined);
      assert.equal(d.secure, false);
    });
  }

  const failures = [
    { name: "100 Trying", status: 100, toTag: "t", contact: BOB_CONTACT, code: "NOT_DIALOG_CREATING" },
    { name: "a 486", status: 486, toTag: "t", contact: BOB_CONTACT, code: "NOT_DIALOG_CREATING" },
    { name: "no To tag", status: 180, toTag: "", contact: BOB_CONTACT, code: "MISSING_TO_TAG" },
    { name: "no Contact", status: 200, toTag: "t", contact: null, code: "MISSING_CONTACT" },
  ] as const;
  for (const f of failures) {
    it(`refuses ${f.name}`, () => {
      const req = invite();
      const res = response(req, f.status, { contact: f.contact, toTag: f.toTag });
      const r = Dialog.asUac(req, res);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.code, f.code);
    });
  }

  it("sets the secure flag for a sips: Request-URI", () => {
    const req = { ...invite(), uri: { ...BOB, scheme: "sips" as const } };
    const r = Dialog.asUac(req, response(req, 200));
    assert.ok(r.ok && r.value.secure);
  });

  it("route set: reversed Record-Route for the UAC, as-is for the UAS", () => {
    const rr = [na(P1), na(P2)];
    assert.deepEqual(uac(200, rr).routeSet.map((r) => r.uri), [P2, P1]);
    assert.deepEqual(uas(200, rr).routeSet.map((r) => r.uri), [P1, P2]);
  });
});

describe("route set and Request-URI of in-dialog requests (RFC 3261 12.2.1.1)", () => {
  // Record-Route as the UAS saw it, so the UAS's route set is the same list.
  const cases = [
    { name: "no route set", rr: [] as NameAddr[], ruri: ALICE_CONTACT, route: [] as SipUri[] },
    { name: "loose routing", rr: [na(P1), na(P2)], ruri: ALICE_CONTACT, route: [P1, P2] },
    { name: "strict routing", rr: [na(STRICT1), na(P2)], ruri: STRICT1, route: [P2, ALICE_CONTACT] },
    { name: "single strict router", rr: [na(STRICT1)], ruri: STRICT1, route: [ALICE_CONTACT] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = uas(200, c.rr);
      const { uri: ruri, route } = routeRequest(d);
      assert.deepEqual(ruri, c.ruri);
      assert.deepEqual(route.map((r) => r.uri), c.route);
      const bye = buildBye(d);
      assert.deepEqual(bye.uri, c.ruri);
      assert.deepEqual(bye.route.map((r) => r.uri), c.route);
    });
  }

  it("strips URI headers and the method parameter from a strict router's URI", () => {
    const strict: SipUri = { ...STRICT1, params: { method: "INVITE", transport: "tcp" }, headers: [["Subject", "x"]] };
    const { uri: ruri } = routeRequest(uas(200, [na(strict)]));
    assert.deepEqual(ruri, { ...STRICT1, params: { transport: "tcp" }, headers: [] });
  });
});

describe("in-dialog request builders", () => {
  it("BYE, INFO, UPDATE, re-INVITE take the next local CSeq, tags and Call-ID of the dialog and no Via", () => {
    const d = uac(200);
    const table = [
      { build: buildBye, method: "BYE", seq: 2, contact: false },
      { build: buildInfo, method: "INFO", seq: 3, contact: false },
      { build: buildUpdate, method: "UPDATE", seq: 4, contact: true },
      { build: buildReInvite, method: "INVITE", seq: 5, contact: true },
    ];
    for (const t of table) {
      const req = t.build(d);
      assert.equal(req.method, t.method);
      assert.deepEqual(req.cseq, { seq: t.seq, method: t.method });
      assert.equal(req.callId, "call-1");
      assert.equal(req.from.params["tag"], "alice-tag");
      assert.equal(req.from.displayName, "Alice");
      assert.equal(req.to.params["tag"], "bob-tag");
      assert.deepEqual(req.via, [], "the transaction layer adds the Via and its branch");
      assert.equal(req.contact.length, t.contact ? 1 : 0);
      assert.equal(req.maxForwards, 70);
    }
  });

  it("the UAS picks an initial local CSeq on its first request", () => {
    const d = uas(200);
    assert.equal(buildBye(d).cseq.seq, 1);
  });

  it("ACK for a 2xx keeps the INVITE's CSeq number and credentials, and does not advance the CSeq", () => {
    const req = invite([na(P1)]);
    const created = Dialog.asUac(req, response(req, 200));
    assert.ok(created.ok);
    const d = created.value;
    const ack = buildAck(d, req);
    assert.deepEqual(ack.cseq, { seq: 1, method: "ACK" });
    assert.equal(ack.uri, BOB_CONTACT);
    assert.deepEqual(ack.route.map((r) => r.uri), [P1]);
    assert.deepEqual(ack.headers, [{ name: "Proxy-Authorization", value: "Digest username=\"alice\"" }]);
    assert.equal(buildBye(d).cseq.seq, 2);
  });

  it("carries a body with its content type", () => {
    const r = buildReInvite(uac(), { body: Buffer.from("v=0\r\n"), contentType: "application/sdp" });
    assert.equal(r.contentType, "application/sdp");
    assert.equal(r.body.toString(), "v=0\r\n");
  });
});

describe("remote CSeq (RFC 3261 12.2.2)", () => {
  const cases = [
    { name: "higher CSeq is accepted", seqs: [2], ok: true, remote: 2 },
    { name: "gaps are fine", seqs: [5, 9], ok: true, remote: 9 },
    { name: "equal CSeq is accepted", seqs: [1], ok: true, remote: 1 },
    { name: "lower CSeq is out of order (500)", seqs: [5, 3], ok: false, remote: 5 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = uas(200);
      let last = true;
      for (const s of c.seqs) last = d.receiveRequest(peerRequest(d, "INFO", s)).ok;
      assert.equal(last, c.ok);
      assert.equal(d.remoteSeq, c.remote);
    });
  }

  it("an empty remote sequence (UAC) takes the first request's CSeq", () => {
    const d = uac(200);
    assert.equal(d.receiveRequest(peerRequest(d, "INFO", 7000)).ok, true);
    assert.equal(d.remoteSeq, 7000);
  });

  it("ACK and CANCEL do not move the remote CSeq", () => {
    const d = uas(200);
    d.receiveRequest(peerRequest(d, "INVITE", 4));
    assert.equal(d.receiveRequest(peerRequest(d, "ACK", 4)).ok, true);
    assert.equal(d.remoteSeq, 4);
  });

  it("a BYE terminates the dialog", () => {
    const d = uas(200);
    d.receiveRequest(peerRequest(d, "BYE", 2));
    assert.equal(d.state, "Terminated");
  });
});

describe("target refresh", () => {
  const NEW = uri("alice", "198.51.100.7");
  const table = [
    { method: "INVITE", refresh: true },
    { method: "UPDATE", refresh: true },
    { method: "INFO", refresh: false },
    { method: "BYE", refresh: false },
  ];
  for (const t of table) {
    it(`a received ${t.method} ${t.refresh ? "replaces" : "keeps"} the remote target`, () => {
      const d = uas(200);
      d.receiveRequest(peerRequest(d, t.method, 2, NEW));
      assert.equal(d.remoteTarget, t.refresh ? NEW : ALICE_CONTACT);
    });
    it(`the 2xx to a ${t.method} we sent ${t.refresh ? "replaces" : "keeps"} the remote target`, () => {
      const d = uac(200);
      const req = buildInDialogRequest(d, t.method);
      d.receiveResponse(req, response(req, 200, { contact: NEW }));
      assert.equal(d.remoteTarget, t.refresh ? NEW : BOB_CONTACT);
    });
  }
});

describe("dialog state changes", () => {
  it("UAC: early dialog confirmed by the 2xx, route set recomputed from it", () => {
    const req = invite([na(P1)]);
    const r = Dialog.asUac(req, response(req, 180));
    assert.ok(r.ok);
    const d = r.value;
    d.receiveResponse(req, response(req, 200, { recordRoute: [na(P1), na(P2)], contact: uri("bob", "final.example.com") }));
    assert.equal(d.state, "Confirmed");
    assert.deepEqual(d.routeSet.map((x) => x.uri), [P2, P1]);
    assert.equal((d.remoteTarget as SipUri).host, "final.example.com");
  });

  it("UAC: a non-2xx final ends the early dialog (12.3)", () => {
    const req = invite();
    const r = Dialog.asUac(req, response(req, 183));
    assert.ok(r.ok);
    r.value.receiveResponse(req, response(req, 486));
    assert.equal(r.value.state, "Terminated");
  });

  it("a 481 or 408 to an in-dialog request ends the dialog; another error does not", () => {
    for (const [status, state] of [[481, "Terminated"], [408, "Terminated"], [491, "Confirmed"], [500, "Confirmed"]] as const) {
      const d = uac(200);
      const req = buildReInvite(d);
      d.receiveResponse(req, response(req, status));
      assert.equal(d.state, state, String(status));
    }
  });

  it("UAS: the 2xx it sends confirms, a non-2xx ends the early dialog", () => {
    const req = invite();
    const a = uas(180);
    a.sendResponse(req, response(req, 200));
    assert.equal(a.state, "Confirmed");
    const b = uas(180);
    b.sendResponse(req, response(req, 487));
    assert.equal(b.state, "Terminated");
  });
});

describe("DialogStore", () => {
  it("finds a dialog for incoming requests by Call-ID, To tag and From tag, and for responses the other way", () => {
    const store = new DialogStore();
    const d = uac(200);
    store.add(d);
    assert.equal(store.size(), 1);
    assert.equal(store.findForRequest(peerRequest(d, "BYE", 9)), d);
    const bye = buildBye(d);
    assert.equal(store.findForResponse(response(bye, 200)), d);
    assert.equal(store.get("call-1", "alice-tag", "bob-tag"), d);
    assert.equal(store.findForRequest({ ...peerRequest(d, "BYE", 9), callId: "other" }), undefined);
    assert.equal(store.findForRequest(invite()), undefined, "no To tag: not in a dialog");
    assert.equal(store.remove(d), true);
    assert.equal(store.size(), 0);
  });
});
