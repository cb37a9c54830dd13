// The transport's MessageTap: every message received and sent is shown with its bytes, protocol
// and both ends, on real loopback sockets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createResponse, type SipMessage, type SipRequest } from "../message/index.ts";
import { createTransport } from "./create-transport.ts";
import { collect, outgoingRequest, rawRequest, tcpClient, udpPeer } from "../../../test/support/transport-peers.ts";
import type { Endpoint, MessageTap, SipTransport, TransportProtocol } from "./types.ts";

interface Seen {
  direction: "in" | "out";
  callId: string;
  data: string | null;
  protocol: TransportProtocol;
  local: Endpoint;
  remote: Endpoint;
}

function recordingTap(): MessageTap & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    observe(direction, message: SipMessage, data, protocol, local, remote) {
      seen.push({ direction, callId: message.callId, data: data === null ? null : data.toString("latin1"), protocol, local, remote });
    },
  };
}

function portOf(t: SipTransport, protocol: TransportProtocol): number {
  const l = t.listening().find((x) => x.protocol === protocol);
  if (l === undefined) throw new Error(`no ${protocol} listener`);
  return l.endpoint.port;
}

test("UDP: the tap sees the datagram received and the bytes sent, with both ends", async () => {
  const tap = recordingTap();
  const t = await createTransport({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }], tap, onError: () => {} });
  const peer = await udpPeer("127.0.0.1");
  try {
    const inbox = collect(t);
    const text = rawRequest("INVITE", "SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKtap;rport", { callId: "tap-1" });
    peer.send(text, portOf(t, "UDP"));
    const { message, context } = await inbox.message();
    await t.sendResponse(createResponse(message as SipRequest, 180), context);
    const out = outgoingRequest("BYE");
    await t.sendRequest(out, { protocol: "UDP", remote: { address: "127.0.0.1", port: peer.port } });
    await peer.next(2);
    assert.deepEqual(tap.seen.map((s) => [s.direction, s.protocol]), [["in", "UDP"], ["out", "UDP"], ["out", "UDP"]]);
    const [received, answered, sent] = tap.seen;
    assert.equal(received?.data, text, "the datagram exactly as it arrived (before received/rport are stamped)");
    assert.equal(received?.callId, "tap-1");
    assert.deepEqual(received?.remote, { address: "127.0.0.1", port: peer.port });
    assert.equal(received?.local.port, portOf(t, "UDP"));
    assert.equal(answered?.data, peer.received[0]?.toString("latin1"), "the bytes that went out");
    assert.equal(sent?.data, peer.received[1]?.toString("latin1"));
    assert.equal(sent?.callId, out.callId);
  } finally {
    await peer.close();
    await t.close();
  }
});

test("TCP: the tap sees received messages without bytes (the framer keeps none) and sent ones with theirs", async () => {
  const tap = recordingTap();
  const t = await createTransport({ listen: [{ protocol: "TCP", address: "127.0.0.1", port: 0 }], tap, onError: () => {} });
  const client = await tcpClient("127.0.0.1", portOf(t, "TCP"));
  try {
    const inbox = collect(t);
    client.socket.write(rawRequest("INVITE", "SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKtcp", { callId: "tap-2" }));
    const { message, context } = await inbox.message();
    await t.sendResponse(createResponse(message as SipRequest, 200), context);
    await client.reader.next();
    assert.deepEqual(tap.seen.map((s) => [s.direction, s.protocol, s.callId, s.data === null]), [["in", "TCP", "tap-2", true], ["out", "TCP", "tap-2", false]]);
    assert.equal(tap.seen[1]?.remote.port, client.socket.localPort);
    assert.match(tap.seen[1]?.data ?? "", /^SIP\/2\.0 200 OK\r\n/);
  } finally {
    client.socket.destroy();
    await t.close();
  }
});
