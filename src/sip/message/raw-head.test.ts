import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { addHeader, createResponse, parseMessage, parseNameAddr, parseUri, parseVia, removeHeader, serializeMessage, setHeader, withItem, withParam, withoutParam } from "./index.ts";
import type { SipMessage, SipRequest, SipResponse, SipUri } from "./index.ts";

// A request written the way real peers write them: compact names, several Via lines, lists on
// one line, a folded header, odd spacing, other headers between the hot ones.
const RECEIVED = [
  "INVITE sip:bob@biloxi.example;transport=udp SIP/2.0",
  "v: SIP/2.0/UDP pc33.atlanta.example;branch=z9hG4bKnashds8;rport",
  "Via: SIP/2.0/TCP proxy.atlanta.example:5061;branch=z9hG4bK2, SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK3",
  "Max-Forwards: 70",
  "Route: <sip:edge.example;lr>, <sip:core.example;lr>",
  "f: Alice <sip:alice@atlanta.example>;tag=1928301774",
  "To:   Bob <sip:bob@biloxi.example>",
  "X-Trace: one,",
  " two",
  "Call-ID: a84b4c76e66710@pc33.atlanta.example",
  "CSeq: 314159 INVITE",
  "Subject: lunch",
  "m: <sip:alice@pc33.atlanta.example>;expires=60",
  "Content-Type: application/sdp",
  "l: 4",
  "",
  "v=0\n",
].join("\r\n");

function parsed(text: string = RECEIVED): SipMessage {
  const r = parseMessage(Buffer.from(text));
  assert.ok(r.ok, r.ok ? "" : r.error.code + " " + r.error.detail);
  return r.message;
}

function request(): SipRequest {
  return parsed() as SipRequest;
}

/** What the serializer wrote must parse back to exactly the message as it is now. */
function assertWritten(m: SipMessage): string {
  const wire = serializeMessage(m);
  const back = parseMessage(wire);
  assert.ok(back.ok, back.ok ? "" : back.error.code + " " + back.error.detail + "\n" + wire.toString());
  assert.deepStrictEqual(back.message, m);
  return wire.toString();
}

describe("serializing a parsed message from its received text", () => {
  it("writes untouched header lines as received, folded ones unfolded, Content-Length from the body", () => {
    const text = assertWritten(request());
    const head = RECEIVED.slice(0, RECEIVED.indexOf("X-Trace"));
    assert.ok(text.startsWith(head), text);
    assert.ok(text.includes("\r\nX-Trace: one, two\r\nCall-ID: a84b4c76e66710@pc33.atlanta.example\r\nCSeq: 314159 INVITE\r\nSubject: lunch\r\nm: <sip:alice@pc33.atlanta.example>;expires=60\r\n"), text);
    assert.ok(text.endsWith("Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n"), text);
  });

  it("keeps a parsed message a plain object equal to one built by hand", () => {
    const m = request();
    assert.equal(Object.getPrototypeOf(m), Object.prototype);
    assert.deepStrictEqual(Object.keys(m), ["kind", "method", "uri", "via", "from", "to", "callId", "cseq", "contact", "contactWildcard", "route", "recordRoute", "maxForwards", "contentType", "headers", "body"]);
    // A copy carries no received text: it is rendered in full.
    const copy = { ...m, headers: [...m.headers] };
    const text = assertWritten(copy);
    assert.ok(text.includes("\r\nFrom: \"Alice\" <sip:alice@atlanta.example>;tag=1928301774\r\n"), text);
  });

  // Every kind of change a caller can make: values are immutable, so each replaces a field.
  const changes: Array<[string, (m: SipRequest) => void, string]> = [
    ["Via param added (received)", (m) => (m.via = withItem(m.via, 0, withParam(m.via[0]!, "received", "198.51.100.7"))), ";received=198.51.100.7"],
    ["Via rport filled", (m) => (m.via = withItem(m.via, 0, withParam(m.via[0]!, "rport", "5062"))), ";rport=5062"],
    ["Via host and port changed", (m) => (m.via = withItem(m.via, 1, { ...m.via[1]!, host: "10.0.0.1", port: 5070 })), "10.0.0.1:5070"],
    ["Via pushed", (m) => (m.via = [parseVia("SIP/2.0/UDP b2bua.example;branch=z9hG4bKnew")![0]!, ...m.via]), "b2bua.example;branch=z9hG4bKnew"],
    ["Via popped", (m) => (m.via = m.via.slice(1)), "Via: SIP/2.0/TCP proxy.atlanta.example:5061"],
    ["Via param removed", (m) => (m.via = withItem(m.via, 0, withoutParam(m.via[0]!, "rport"))), "Via: SIP/2.0/UDP pc33.atlanta.example;branch=z9hG4bKnashds8\r\nVia: SIP/2.0/TCP"],
    ["From tag changed", (m) => (m.from = withParam(m.from, "tag", "xyz")), ";tag=xyz"],
    ["To tag added", (m) => (m.to = withParam(m.to, "tag", "abc")), ";tag=abc"],
    ["To display name changed", (m) => (m.to = { ...m.to, displayName: "Robert" }), '"Robert" <sip:bob@biloxi.example>'],
    ["From URI host changed", (m) => (m.from = { ...m.from, uri: { ...(m.from.uri as SipUri), host: "other.example" } }), "alice@other.example"],
    ["From URI param added", (m) => (m.from = { ...m.from, uri: withParam(m.from.uri as SipUri, "user", "phone") }), "alice@atlanta.example;user=phone"],
    ["Request-URI replaced", (m) => (m.uri = parseUri("sip:carol@chicago.example")!), "INVITE sip:carol@chicago.example SIP/2.0\r\n"],
    ["Request-URI user changed", (m) => (m.uri = { ...(m.uri as SipUri), user: "robert" }), "INVITE sip:robert@biloxi.example;transport=udp SIP/2.0\r\n"],
    ["method and CSeq changed", (m) => Object.assign(m, { method: "OPTIONS", cseq: { seq: 2, method: "OPTIONS" } }), "CSeq: 2 OPTIONS"],
    ["CSeq number changed", (m) => (m.cseq = { ...m.cseq, seq: 314160 }), "CSeq: 314160 INVITE"],
    ["Call-ID replaced", (m) => (m.callId = "new-call"), "Call-ID: new-call\r\n"],
    ["Max-Forwards decremented", (m) => (m.maxForwards = 69), "Max-Forwards: 69\r\n"],
    ["Max-Forwards removed", (m) => (m.maxForwards = null), "Route:"],
    ["Route popped", (m) => (m.route = m.route.slice(1)), "Route: <sip:core.example;lr>\r\n"],
    ["Route emptied", (m) => (m.route = []), "Max-Forwards: 70\r\n"],
    ["Record-Route added where there was none", (m) => (m.recordRoute = [...m.recordRoute, parseNameAddr("<sip:b2bua.example;lr>")!]), "Record-Route: <sip:b2bua.example;lr>\r\n"],
    ["Contact param changed", (m) => (m.contact = withItem(m.contact, 0, withParam(m.contact[0]!, "expires", "30"))), ";expires=30"],
    ["Contact made wildcard", (m) => Object.assign(m, { contact: [], contactWildcard: true }), "Contact: *\r\n"],
    ["Content-Type changed", (m) => (m.contentType = "application/sdp;charset=utf-8"), "Content-Type: application/sdp;charset=utf-8\r\n"],
    ["body replaced", (m) => (m.body = Buffer.from("v=0\r\no=x\r\n")), "Content-Length: 10\r\n\r\nv=0\r\no=x\r\n"],
    ["other header set", (m) => setHeader(m, "Subject", "dinner"), "Subject: dinner\r\n"],
    ["other header added", (m) => addHeader(m, "X-New", "1"), "X-New: 1\r\n"],
    ["other header removed", (m) => removeHeader(m, "Subject"), "CSeq: 314159 INVITE\r\n"],
    ["other header value changed", (m) => (m.headers = withItem(m.headers, 0, { ...m.headers[0]!, value: "three" })), "X-Trace: three\r\n"],
    ["hot header set by name", (m) => setHeader(m, "To", "<sip:dave@example.com>"), "To: <sip:dave@example.com>\r\n"],
  ];

  for (const [label, change, expected] of changes) {
    it(`writes a change: ${label}`, () => {
      const m = request();
      change(m);
      const text = assertWritten(m);
      assert.ok(text.includes(expected), label + ":\n" + text);
    });
  }

  it("writes a removed other header nowhere", () => {
    const m = request();
    removeHeader(m, "Subject");
    assert.ok(!assertWritten(m).includes("Subject"));
  });

  it("writes each single-valued header once when the peer repeated it", () => {
    const m = parsed(RECEIVED.replace("CSeq: 314159 INVITE\r\n", "CSeq: 314159 INVITE\r\nCSeq: 314159 INVITE\r\n"));
    assert.equal(assertWritten(m).split("CSeq:").length, 2);
  });

  it("writes a folded other header once when it is the only one", () => {
    const m = parsed("OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\nSubject: a\r\n  b\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n");
    const text = assertWritten(m);
    assert.equal(text.split("Subject: a b\r\n").length, 2, text);
  });

  it("writes a datagram that ended without the empty line with one", () => {
    const m = parsed("OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n");
    assert.ok(assertWritten(m).endsWith("\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"));
  });

  it("writes a message received with bare LF line ends with CRLF only", () => {
    const m = parsed("OPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\nFrom: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\nCall-ID: c1\nCSeq: 1 OPTIONS\n\n");
    const text = assertWritten(m);
    assert.equal(text.replace(/\r\n/g, "").includes("\n"), false, text);
  });

  it("writes a response built from a parsed request in full, and the request unchanged", () => {
    const m = request();
    const res: SipResponse = createResponse(m, 180, undefined, { toTag: "t1" });
    res.via = withItem(res.via, 0, withParam(res.via[0]!, "received", "192.0.2.1"));
    const text = assertWritten(res);
    assert.ok(text.startsWith("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP pc33.atlanta.example;branch=z9hG4bKnashds8;rport;received=192.0.2.1\r\n"), text);
    assert.ok(assertWritten(m).startsWith(RECEIVED.slice(0, RECEIVED.indexOf("X-Trace"))));
  });

  it("writes a parsed response as received, and its changes", () => {
    const text = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\nRecord-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    const m = parsed(text) as SipResponse;
    assert.equal(assertWritten(m), text);
    m.reason = "Fine";
    m.recordRoute = [...m.recordRoute].reverse();
    const changed = assertWritten(m);
    assert.ok(changed.startsWith("SIP/2.0 200 Fine\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\nRecord-Route: <sip:p2.example;lr>, <sip:p1.example;lr>\r\n"), changed);
  });
});

describe("writing a changed Via list, one value per line", () => {
  // Vias as peers write them: compact name, odd spacing; the lines of untouched values stay as received.
  const VIAS = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p1.example;branch=z9hG4bK1\r\nv:  SIP/2.0/UDP p2.example:5070 ;branch=z9hG4bK2\r\nTo: <sip:b@example.com>;tag=2\r\nVia: SIP/2.0/TCP p3.example;branch=z9hG4bK3;received=192.0.2.3\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
  const P2 = "v:  SIP/2.0/UDP p2.example:5070 ;branch=z9hG4bK2\r\n";
  const P3 = "Via: SIP/2.0/TCP p3.example;branch=z9hG4bK3;received=192.0.2.3\r\n";
  const NEW = parseVia("SIP/2.0/UDP b2bua.example;branch=z9hG4bKnew")![0]!;
  const cases: Array<[string, (m: SipMessage) => void, string]> = [
    ["top stamped", (m) => (m.via = withItem(m.via, 0, withParam(m.via[0]!, "received", "198.51.100.7"))), "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p1.example;branch=z9hG4bK1;received=198.51.100.7\r\n" + P2 + "To: <sip:b@example.com>;tag=2\r\n" + P3],
    ["pushed", (m) => (m.via = [NEW, ...m.via]), "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP b2bua.example;branch=z9hG4bKnew\r\nVia: SIP/2.0/UDP p1.example;branch=z9hG4bK1\r\n" + P2 + "To: <sip:b@example.com>;tag=2\r\n" + P3],
    ["popped", (m) => (m.via = m.via.slice(1)), "SIP/2.0 200 OK\r\n" + P2 + "To: <sip:b@example.com>;tag=2\r\n" + P3],
    ["middle replaced", (m) => (m.via = withItem(m.via, 1, NEW)), "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p1.example;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b2bua.example;branch=z9hG4bKnew\r\nTo: <sip:b@example.com>;tag=2\r\n" + P3],
    ["last replaced", (m) => (m.via = withItem(m.via, 2, NEW)), "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p1.example;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP p2.example:5070;branch=z9hG4bK2\r\nVia: SIP/2.0/UDP b2bua.example;branch=z9hG4bKnew\r\nTo: <sip:b@example.com>;tag=2\r\nFrom:"],
    ["all but the last dropped", (m) => (m.via = m.via.slice(2)), "SIP/2.0 200 OK\r\nTo: <sip:b@example.com>;tag=2\r\n" + P3],
  ];
  for (const [label, change, expected] of cases) {
    it(`keeps the lines of the Via values left in place: ${label}`, () => {
      const m = parsed(VIAS);
      change(m);
      const text = assertWritten(m);
      assert.ok(text.startsWith(expected), label + ":\n" + text);
      assert.ok(text.endsWith("\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"), label + ":\n" + text);
    });
  }

  it("renders the whole list when a line held several values", () => {
    const m = parsed(VIAS.replace("Via: SIP/2.0/UDP p1.example;branch=z9hG4bK1\r\n", "Via: SIP/2.0/UDP p0.example;branch=z9hG4bK0, SIP/2.0/UDP p1.example;branch=z9hG4bK1\r\n"));
    m.via = withItem(m.via, 0, withParam(m.via[0]!, "received", "198.51.100.7"));
    const text = assertWritten(m);
    assert.ok(text.includes("\r\nVia: SIP/2.0/UDP p2.example:5070;branch=z9hG4bK2\r\n"), text);
  });

  it("writes the received bytes again when an edit changed nothing", () => {
    const data = Buffer.from(VIAS);
    const r = parseMessage(data);
    assert.ok(r.ok);
    const m = r.message;
    m.via = withItem(m.via, 0, withParam(m.via[0]!, "branch", "z9hG4bK1"));
    m.to = withParam(m.to, "tag", "2");
    assert.equal(serializeMessage(m), data);
  });
});

describe("writing a parsed datagram nobody changed", () => {
  const HEAD = "INVITE sip:bob@biloxi.example SIP/2.0\r\nVia: SIP/2.0/UDP pc33.atlanta.example;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n";

  it("gives back the received bytes when they are what the serializer writes", () => {
    const data = Buffer.from(HEAD + "Content-Length: 4\r\n\r\nv=0\n");
    const r = parseMessage(data);
    assert.ok(r.ok);
    assert.equal(serializeMessage(r.message), data);
    // Octets past Content-Length are not part of the message (RFC 3261 18.3).
    const padded = parseMessage(Buffer.concat([data, Buffer.from("junk")]));
    assert.ok(padded.ok);
    assert.deepStrictEqual(serializeMessage(padded.message), data);
  });

  it("renders what changed, in place or in the body", () => {
    const data = Buffer.from(HEAD + "Content-Length: 4\r\n\r\nv=0\n");
    const a = parsed(data.toString());
    a.via = withItem(a.via, 0, withParam(a.via[0]!, "received", "192.0.2.1"));
    assert.ok(assertWritten(a).includes(";branch=z9hG4bK1;received=192.0.2.1\r\n"));
    const b = parsed(data.toString());
    b.body = Buffer.from("v=1\n");
    assert.ok(assertWritten(b).endsWith("Content-Length: 4\r\n\r\nv=1\n"));
    const c = parsed(data.toString());
    c.to = withParam(c.to, "tag", "9");
    assert.ok(assertWritten(c).includes("\r\nTo: <sip:b@example.com>;tag=9\r\n"));
  });

  it("writes the canonical form when the received Content-Length is not it", () => {
    for (const [cl, body] of [["l: 4", "v=0\n"], ["Content-Length:  4", "v=0\n"], ["Content-Length: 04", "v=0\n"], ["content-length: 4", "v=0\n"]] as const) {
      const data = Buffer.from(HEAD + cl + "\r\n\r\n" + body);
      const text = assertWritten(parsed(data.toString()));
      assert.equal(text, HEAD + "Content-Length: 4\r\n\r\n" + body);
    }
    // Content-Length not last: the serializer moves it to the end.
    const moved = HEAD.replace("CSeq: 1 INVITE\r\n", "Content-Length: 0\r\nCSeq: 1 INVITE\r\n");
    assert.equal(assertWritten(parsed(moved + "\r\n")), HEAD + "Content-Length: 0\r\n\r\n");
    // A folded line is written unfolded.
    const folded = HEAD.replace("Call-ID: c1", "Subject: a\r\n b\r\nCall-ID: c1") + "Content-Length: 0\r\n\r\n";
    assert.ok(assertWritten(parsed(folded)).includes("\r\nSubject: a b\r\n"));
  });
});
