import { test } from "node:test";
import assert from "node:assert/strict";
import type { Via } from "../message/index.ts";
import { aliasEndpoint, fillSentBy, responseDestination, stampReceivedVia } from "./via-sent-by.ts";

function via(transport: string, host: string, port: number | null, params: Via["params"] = {}): Via {
  return { transport, host, port, params: { branch: "z9hG4bKabc", ...params } };
}

test("RFC 3261 18.2.1: received is added only when the source differs from sent-by", () => {
  const unstamped = via("UDP", "192.0.2.1", 5060);
  assert.equal(stampReceivedVia(unstamped, { address: "192.0.2.1", port: 5060 }), unstamped, "nothing to add: the same value");

  const natted = stampReceivedVia(via("UDP", "10.0.0.5", 5060), { address: "192.0.2.1", port: 40000 });
  assert.equal(natted.params["received"], "192.0.2.1");
  assert.equal(natted.params["rport"], undefined, "rport is only filled when the client asked");

  const named = stampReceivedVia(via("UDP", "pbx.example.com", null), { address: "192.0.2.1", port: 5060 });
  assert.equal(named.params["received"], "192.0.2.1");

  const v6 = stampReceivedVia(via("UDP", "[2001:DB8::1]", 5060), { address: "2001:db8::1", port: 5060 });
  assert.equal(v6.params["received"], undefined, "IPv6 compares without brackets and case");
});

test("RFC 3581: an empty rport is filled and received is added even when identical", () => {
  const v = stampReceivedVia(via("UDP", "192.0.2.1", 5060, { rport: null }), { address: "192.0.2.1", port: 5060 });
  assert.equal(v.params["rport"], "5060");
  assert.equal(v.params["received"], "192.0.2.1");
  const dual = stampReceivedVia(via("UDP", "192.0.2.1", 5060, { rport: null }), { address: "::ffff:192.0.2.1", port: 5070 });
  assert.equal(dual.params["received"], "192.0.2.1");
  assert.equal(dual.params["rport"], "5070");
});

test("fillSentBy sets transport and sent-by and asks for rport", () => {
  const v = fillSentBy(via("UDP", "placeholder", null), "TCP", "[::1]", 5062);
  assert.deepEqual([v.transport, v.host, v.port, v.params["rport"]], ["TCP", "[::1]", 5062, null]);
  assert.equal(v.params["branch"], "z9hG4bKabc");
  assert.equal(fillSentBy(v, "TCP", "[::1]", 5062), v, "already filled: the same value");
});

test("RFC 3261 18.2.2 / RFC 3581: where a response goes", () => {
  assert.deepEqual(responseDestination(via("UDP", "10.0.0.5", 5070, { received: "192.0.2.1", rport: "40000" })), { protocol: "UDP", host: "192.0.2.1", port: 40000 });
  assert.deepEqual(responseDestination(via("UDP", "10.0.0.5", 5070, { received: "192.0.2.1" })), { protocol: "UDP", host: "192.0.2.1", port: 5070 });
  assert.deepEqual(responseDestination(via("UDP", "[2001:db8::5]", null)), { protocol: "UDP", host: "2001:db8::5", port: 5060 });
  assert.deepEqual(responseDestination(via("UDP", "10.0.0.5", null, { maddr: "192.0.2.99", received: "192.0.2.1", rport: "1" })), { protocol: "UDP", host: "192.0.2.99", port: 5060 });
  // rport applies to unreliable transports only.
  assert.deepEqual(responseDestination(via("TCP", "10.0.0.5", 5070, { received: "192.0.2.1", rport: "40000" })), { protocol: "TCP", host: "192.0.2.1", port: 5070 });
  assert.deepEqual(responseDestination(via("TLS", "pbx.example.com", null)), { protocol: "TLS", host: "pbx.example.com", port: 5061 });
  assert.equal(responseDestination(via("SCTP", "10.0.0.5", null)), null);
  assert.deepEqual(responseDestination(via("UDP", "10.0.0.5", null, { rport: "99999" })), { protocol: "UDP", host: "10.0.0.5", port: 5060 });
});

test("a request that arrived over UDP is answered over UDP whatever its Via transport says", () => {
  assert.deepEqual(responseDestination(via("TLS", "pbx.example.com", null, { received: "192.0.2.1" }), "UDP"), { protocol: "UDP", host: "192.0.2.1", port: 5060 });
  assert.deepEqual(responseDestination(via("TCP", "10.0.0.5", 5070, { received: "192.0.2.1" }), "UDP"), { protocol: "UDP", host: "192.0.2.1", port: 5070 });
  assert.deepEqual(responseDestination(via("SCTP", "10.0.0.5", null), "UDP"), { protocol: "UDP", host: "10.0.0.5", port: 5060 });
  assert.deepEqual(responseDestination(via("UDP", "10.0.0.5", null), "TCP"), { protocol: "UDP", host: "10.0.0.5", port: 5060 });
});

test("RFC 5923: alias maps the connection to source address + sent-by port", () => {
  assert.deepEqual(aliasEndpoint(via("TCP", "10.0.0.5", 5070, { alias: null }), { address: "192.0.2.1", port: 40000 }), { address: "192.0.2.1", port: 5070 });
  assert.deepEqual(aliasEndpoint(via("TLS", "10.0.0.5", null, { alias: null }), { address: "192.0.2.1", port: 40000 }), { address: "192.0.2.1", port: 5061 });
  assert.equal(aliasEndpoint(via("TCP", "10.0.0.5", 5070), { address: "192.0.2.1", port: 40000 }), null);
});
