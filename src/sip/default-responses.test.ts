import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMessage, withParam, type SipRequest } from "./message/index.ts";
import { checkRequest, unhandledResponse, type UasCapabilities } from "./default-responses.ts";

const caps: UasCapabilities = {
  allow: ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"],
  supported: ["timer", "replaces"],
  accept: ["application/sdp"],
};

function request(method: string, uri: string, extra: string[] = [], body = ""): SipRequest {
  const text = [
    `${method} ${uri} SIP/2.0`,
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1",
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:b@example.com>",
    "Call-ID: c1",
    `CSeq: 1 ${method}`,
    "Max-Forwards: 70",
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    "",
    body,
  ].join("\r\n");
  const r = parseMessage(Buffer.from(text));
  assert.ok(r.ok && r.message.kind === "request", text);
  return r.message;
}

const header = (r: { headers: { name: string; value: string }[] }, name: string): string | undefined => r.headers.find((h) => h.name === name)?.value;

test("RFC 3261 8.2 checks, in the order the RFC gives them", () => {
  const table: Array<[string, SipRequest, number | null, string?, string?]> = [
    ["an unknown method MUST get 501 with Allow", request("FOO", "sip:b@example.com"), 501, "Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"],
    ["a known method we do not serve gets 405 with Allow", request("SUBSCRIBE", "sip:b@example.com"), 405, "Allow"],
    ["an unsupported Request-URI scheme gets 416", request("OPTIONS", "mailto:b@example.com"), 416],
    ["an unknown option tag in Require gets 420 naming it", request("INVITE", "sip:b@example.com", ["Require: timer, foo"]), 420, "Unsupported", "foo"],
    ["a body of an unknown type gets 415 with Accept", request("INVITE", "sip:b@example.com", ["Content-Type: text/x-nothing"], "hi"), 415, "Accept", "application/sdp"],
    ["an Accept we cannot honour gets 406", request("INVITE", "sip:b@example.com", ["Accept: text/nobodyknowsthis"]), 406],
    ["a plain INVITE passes", request("INVITE", "sip:b@example.com", ["Content-Type: application/sdp"], "v=0\r\n"), null],
    ["tel: URIs are served", request("INVITE", "tel:+15551234567"), null],
    ["ACK is never refused", request("ACK", "nobody:x"), null],
  ];
  for (const [name, req, status, hname, hvalue] of table) {
    const r = checkRequest(req, caps);
    assert.equal(r?.status ?? null, status, name);
    if (r !== null && hname !== undefined) {
      assert.ok(header(r, hname) !== undefined, `${name}: ${hname} present`);
      if (hvalue !== undefined) assert.equal(header(r, hname), hvalue, name);
    }
  }
});

test("requests no handler claims get the answer a UAS core would give", () => {
  const options = unhandledResponse(request("OPTIONS", "sip:b@example.com"), caps);
  assert.equal(options?.status, 200);
  assert.equal(header(options!, "Allow"), caps.allow.join(", "));
  assert.equal(header(options!, "Accept"), "application/sdp");
  assert.equal(header(options!, "Supported"), "timer, replaces");
  assert.equal(unhandledResponse(request("INVITE", "sip:+15550000000@example.com"), caps)?.status, 404);
  assert.equal(unhandledResponse(request("BYE", "sip:b@example.com"), caps)?.status, 481);
  const inDialog = request("INVITE", "sip:b@example.com", []);
  inDialog.to = withParam(inDialog.to, "tag", "x");
  assert.equal(unhandledResponse(inDialog, caps)?.status, 481, "an in-dialog request with no dialog gets 481");
  assert.equal(unhandledResponse(request("ACK", "sip:b@example.com"), caps), null);
});
