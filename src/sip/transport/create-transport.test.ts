import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../lib/index.ts";
import { createResponse, parseMessage, type SipRequest } from "../message/index.ts";
import { createTransport } from "./create-transport.ts";
import { collect, outgoingRequest, pause, rawRequest, tcpClient, tcpServerPeer, udpPeer } from "../../../test/support/transport-peers.ts";
import { poll } from "../../../test/support/until.ts";
import { TransportError, type ListenOptions, type SipTransport, type TransportOptions } from "./types.ts";

const onError = (): void => {};

async function withTransport(options: Partial<TransportOptions> & Pick<TransportOptions, "listen">, body: (t: SipTransport) => Promise<void>): Promise<void> {
  const transport = await createTransport({ onError, ...options });
  try {
    await body(transport);
  } finally {
    await transport.close();
  }
}

function portOf(t: SipTransport, protocol: "UDP" | "TCP" | "TLS"): number {
  const l = t.listening().find((x) => x.protocol === protocol);
  if (l === undefined) throw new Error(`no ${protocol} listener`);
  return l.endpoint.port;
}

function parsed(text: string) {
  const r = parseMessage(Buffer.from(text));
  assert.ok(r.ok, `not SIP: ${text.slice(0, 200)}`);
  return r.message;
}

for (const address of ["127.0.0.1", "::1"]) {
  const host = address.includes(":") ? `[${address}]` : address;

  test(`UDP ${address}: request gets received/rport and the response follows them (RFC 3581)`, async () => {
    await withTransport({ listen: [{ protocol: "UDP", address, port: 0 }] }, async (t) => {
      const inbox = collect(t);
      const peer = await udpPeer(address);
      try {
        // The peer claims a private address and another port, as a client behind NAT would.
        peer.send(rawRequest("OPTIONS", "SIP/2.0/UDP 10.9.9.9:5999;branch=z9hG4bKnat;rport"), portOf(t, "UDP"));
        const { message, context } = await inbox.message();
        assert.equal(message.kind, "request");
        assert.equal(context.protocol, "UDP");
        assert.deepEqual(context.remote, { address, port: peer.port });
        assert.equal(context.connectionId, null);
        const via = message.via[0];
        assert.equal(via?.params["received"], address);
        assert.equal(via?.params["rport"], String(peer.port));
        await t.sendResponse(createResponse(message as SipRequest, 200), context);
        const reply = parsed(await peer.next());
        assert.equal(reply.kind === "response" && reply.status, 200);
        assert.equal(reply.via[0]?.params["rport"], String(peer.port));
      } finally {
        await peer.close();
      }
    });
  });

  test(`UDP ${address}: sendRequest fills Via for UDP and reaches the peer`, async () => {
    await withTransport({ listen: [{ protocol: "UDP", address, port: 0 }] }, async (t) => {
      const peer = await udpPeer(address);
      try {
        const used = await t.sendRequest(outgoingRequest("OPTIONS"), { protocol: "UDP", remote: { address, port: peer.port } });
        assert.deepEqual(used, { protocol: "UDP", remote: { address, port: peer.port }, connectionId: null });
        const got = parsed(await peer.next());
        const via = got.via[0];
        assert.deepEqual([via?.transport, via?.host, via?.port], ["UDP", host, portOf(t, "UDP")]);
        assert.ok(via !== undefined && Object.hasOwn(via.params, "rport"));
      } finally {
        await peer.close();
      }
    });
  });

  test(`TCP ${address}: framing across partial writes and pipelined messages; response on the same connection`, async () => {
    await withTransport({ listen: [{ protocol: "TCP", address, port: 0 }] }, async (t) => {
      const inbox = collect(t);
      const { socket, reader } = await tcpClient(address, portOf(t, "TCP"));
      try {
        const via = `SIP/2.0/TCP ${host}:5099;branch=z9hG4bKtcp1`;
        const first = Buffer.from(rawRequest("INVITE", via, { body: "v=0\r\n", callId: "c1" }));
        // Split inside the start line, inside a header and inside the body.
        for (const cut of [[0, 5], [5, 60], [60, first.length - 2], [first.length - 2, first.length]] as const) {
          socket.write(first.subarray(cut[0], cut[1]));
          await pause(15);
        }
        socket.write(rawRequest("OPTIONS", via.replace("tcp1", "tcp2"), { callId: "c2" }) + rawRequest("OPTIONS", via.replace("tcp1", "tcp3"), { callId: "c3" }));
        const m1 = await inbox.message(1);
        const m3 = await inbox.message(3);
        assert.deepEqual(inbox.messages.map((m) => m.message.callId), ["c1", "c2", "c3"]);
        assert.equal(m1.message.body.toString(), "v=0\r\n");
        assert.equal(m1.context.protocol, "TCP");
        assert.ok(m1.context.connectionId !== null);
        assert.equal(m3.context.connectionId, m1.context.connectionId);
        assert.equal(m1.message.via[0]?.params["received"], undefined, "sent-by matches the source address");
        await t.sendResponse(createResponse(m1.message as SipRequest, 180), m1.context);
        const reply = parsed(await reader.next());
        assert.equal(reply.kind === "response" && reply.status, 180);
        assert.equal(reply.callId, "c1");
      } finally {
        socket.destroy();
      }
    });
  });
}

test("TCP: a connection the peer opened is reused for requests back to it (alias) and by connectionId", async () => {
  await withTransport({ listen: [{ protocol: "TCP", address: "127.0.0.1", port: 0 }] }, async (t) => {
    const inbox = collect(t);
    const peerServer = await tcpServerPeer("127.0.0.1");
    const { socket, reader } = await tcpClient("127.0.0.1", portOf(t, "TCP"));
    try {
      socket.write(rawRequest("REGISTER", `SIP/2.0/TCP 127.0.0.1:${peerServer.port};branch=z9hG4bKreg;alias`));
      const { context } = await inbox.message();
      const used = await t.sendRequest(outgoingRequest("INVITE"), { protocol: "TCP", remote: { address: "127.0.0.1", port: peerServer.port } });
      assert.equal(used.connectionId, context.connectionId);
      const invite = parsed(await reader.next());
      assert.equal(invite.kind === "request" && invite.method, "INVITE");
      assert.deepEqual([invite.via[0]?.transport, invite.via[0]?.port], ["TCP", portOf(t, "TCP")]);
      await t.sendRequest(outgoingRequest("BYE"), { protocol: "TCP", remote: { address: "127.0.0.1", port: 1 }, connectionId: context.connectionId });
      assert.equal(parsed(await reader.next()).cseq.method, "BYE");
      assert.equal(peerServer.connections.length, 0, "no new connection was opened");
    } finally {
      socket.destroy();
      await peerServer.close();
    }
  });
});

test("TCP: requests to a peer open one connection and reuse it; the peer's responses come back on it", async () => {
  await withTransport({ listen: [{ protocol: "TCP", address: "127.0.0.1", port: 0 }] }, async (t) => {
    const inbox = collect(t);
    const peer = await tcpServerPeer("127.0.0.1");
    try {
      const target = { protocol: "TCP" as const, remote: { address: "127.0.0.1", port: peer.port } };
      const [a, b] = await Promise.all([t.sendRequest(outgoingRequest("OPTIONS"), target), t.sendRequest(outgoingRequest("OPTIONS"), target)]);
      assert.equal(a.connectionId, b.connectionId);
      const conn = peer.connections[0];
      assert.ok(conn !== undefined);
      const req = parsed(await conn.reader.next(2)) as SipRequest;
      assert.equal(peer.connections.length, 1);
      conn.socket.write(Buffer.from(createResponseText(req)));
      const { message, context } = await inbox.message();
      assert.equal(message.kind, "response");
      assert.equal(context.connectionId, a.connectionId);
    } finally {
      await peer.close();
    }
  });
});

function createResponseText(req: SipRequest): string {
  const via = req.via[0];
  assert.ok(via !== undefined);
  const params = Object.entries(via.params).map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`)).join("");
  return `SIP/2.0 200 OK\r\nVia: SIP/2.0/${via.transport} ${via.host}:${via.port}${params}\r\nFrom: <sip:a@b>;tag=t1\r\nTo: <sip:b@b>;tag=x\r\nCall-ID: ${req.callId}\r\nCSeq: ${req.cseq.seq} ${req.cseq.method}\r\nContent-Length: 0\r\n\r\n`;
}

test("TCP: a response whose connection closed goes on a new connection to received + sent-by port", async () => {
  await withTransport({ listen: [{ protocol: "TCP", address: "127.0.0.1", port: 0 }] }, async (t) => {
    const inbox = collect(t);
    const peerServer = await tcpServerPeer("127.0.0.1");
    const { socket } = await tcpClient("127.0.0.1", portOf(t, "TCP"));
    try {
      socket.write(rawRequest("OPTIONS", `SIP/2.0/TCP 10.1.1.1:${peerServer.port};branch=z9hG4bKgone`));
      const { message, context } = await inbox.message();
      assert.equal(message.via[0]?.params["received"], "127.0.0.1");
      socket.destroy();
      await pause(50);
      await t.sendResponse(createResponse(message as SipRequest, 200), context);
      await pause(10);
      const conn = peerServer.connections[0];
      assert.ok(conn !== undefined, "a new connection reached the sent-by port");
      assert.equal(parsed(await conn.reader.next()).callId, message.callId);
    } finally {
      socket.destroy();
      await peerServer.close();
    }
  });
});

test("idle timeout closes a connection with no traffic (fake clock)", async () => {
  const clock = new FakeClock();
  await withTransport({ listen: [{ protocol: "TCP", address: "127.0.0.1", port: 0 }], idleTimeoutMs: 1000, clock }, async (t) => {
    const inbox = collect(t);
    const { socket, reader } = await tcpClient("127.0.0.1", portOf(t, "TCP"));
    try {
      socket.write(rawRequest("OPTIONS", "SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKidle"));
      await inbox.message();
      clock.advance(600);
      socket.write("\r\n\r\n"); // RFC 5626 keep-alive counts as traffic
      await pause(50);
      assert.equal(reader.raw, "\r\n", "the ping is answered with a bare CRLF");
      clock.advance(600);
      assert.equal(await reader.closedWithin(150), false, "activity pushed the deadline");
      clock.advance(1000);
      assert.equal(await reader.closedWithin(), true);
    } finally {
      socket.destroy();
    }
  });
});

test("slow sender: a message still incomplete after messageTimeoutMs closes the connection (fake clock)", async () => {
  const clock = new FakeClock();
  const errors: TransportError[] = [];
  const options = { listen: [{ protocol: "TCP" as const, address: "127.0.0.1", port: 0 }], messageTimeoutMs: 1000, clock, onError: (e: TransportError) => errors.push(e) };
  await withTransport(options, async (t) => {
    const inbox = collect(t);
    const { socket, reader } = await tcpClient("127.0.0.1", portOf(t, "TCP"));
    try {
      // Whole messages, even many of them, never start the deadline.
      socket.write(rawRequest("OPTIONS", "SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKslow1"));
      await inbox.message();
      clock.advance(1500);
      assert.equal(await reader.closedWithin(100), false, "a connection between messages is not slow");
      const trickle = rawRequest("OPTIONS", "SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKslow2");
      socket.write(trickle.slice(0, 20));
      await pause(50);
      clock.advance(600);
      socket.write(trickle.slice(20, 40)); // trickling bytes is traffic, but not progress to a whole message
      await pause(50);
      clock.advance(300);
      assert.equal(await reader.closedWithin(100), false, "within the deadline");
      clock.advance(200);
      assert.equal(await reader.closedWithin(), true, "closed once the message is overdue");
      const slow = errors.find((e) => e.code === "ERR_TRANSPORT_SLOW");
      assert.ok(slow, "reported as a slow sender");
      assert.equal(slow.remote?.address, "127.0.0.1");
    } finally {
      socket.destroy();
    }
  });
});

test("connection limit: further connections are refused and reported", async () => {
  await withTransport({ listen: [{ protocol: "TCP", address: "127.0.0.1", port: 0 }], maxConnections: 1 }, async (t) => {
    const inbox = collect(t);
    const first = await tcpClient("127.0.0.1", portOf(t, "TCP"));
    const second = await tcpClient("127.0.0.1", portOf(t, "TCP"));
    try {
      const drop = await inbox.drop();
      assert.equal(drop.reason.code, "CONNECTION_LIMIT");
      assert.equal(await second.reader.closedWithin(), true);
      assert.equal(first.reader.closed, false);
      await assert.rejects(t.sendRequest(outgoingRequest("OPTIONS"), { protocol: "TCP", remote: { address: "127.0.0.1", port: 9 } }), { code: "ERR_TRANSPORT_CONNECT" });
    } finally {
      first.socket.destroy();
      second.socket.destroy();
    }
  });
});

test("size limit: an oversized datagram is dropped; an oversized TCP message closes the connection", async () => {
  await withTransport(
    { listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }, { protocol: "TCP", address: "127.0.0.1", port: 0 }], maxMessageSize: 1000 },
    async (t) => {
      const inbox = collect(t);
      const peer = await udpPeer("127.0.0.1");
      const big = rawRequest("MESSAGE", "SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKbig", { body: "x".repeat(1200) });
      try {
        peer.send(big, portOf(t, "UDP"));
        assert.equal((await inbox.drop()).reason.code, "TOO_LARGE");
        const { socket, reader } = await tcpClient("127.0.0.1", portOf(t, "TCP"));
        socket.write(big.replace("/UDP", "/TCP"));
        const drop = await inbox.drop(2);
        assert.equal(drop.reason.code, "TOO_LARGE");
        assert.equal(drop.context.protocol, "TCP");
        assert.equal(await reader.closedWithin(), true);
        assert.equal(inbox.messages.length, 0);
        socket.destroy();
      } finally {
        await peer.close();
      }
    },
  );
});

test("RFC 3261 18.1.1: a request over 1300 bytes meant for UDP goes over TCP when a TCP listener exists", async () => {
  const udpOnly: ListenOptions = { protocol: "UDP", address: "127.0.0.1", port: 0 };
  const listen: ListenOptions[] = [udpOnly, { protocol: "TCP", address: "127.0.0.1", port: 0 }];
  await withTransport({ listen }, async (t) => {
    const peerTcp = await tcpServerPeer("127.0.0.1");
    const peerUdp = await udpPeer("127.0.0.1");
    try {
      const used = await t.sendRequest(outgoingRequest("INVITE", 1400), { protocol: "UDP", remote: { address: "127.0.0.1", port: peerTcp.port } });
      assert.equal(used.protocol, "TCP");
      await pause(10);
      const conn = peerTcp.connections[0];
      assert.ok(conn !== undefined);
      const got = parsed(await conn.reader.next());
      assert.deepEqual([got.via[0]?.transport, got.via[0]?.port], ["TCP", portOf(t, "TCP")]);
      const small = await t.sendRequest(outgoingRequest("INVITE", 100), { protocol: "UDP", remote: { address: "127.0.0.1", port: peerUdp.port } });
      assert.equal(small.protocol, "UDP");
      assert.equal(parsed(await peerUdp.next()).via[0]?.transport, "UDP");
    } finally {
      await peerTcp.close();
      await peerUdp.close();
    }
  });
  await withTransport({ listen: [udpOnly] }, async (t) => {
    const peerUdp = await udpPeer("127.0.0.1");
    try {
      const used = await t.sendRequest(outgoingRequest("INVITE", 1400), { protocol: "UDP", remote: { address: "127.0.0.1", port: peerUdp.port } });
      assert.equal(used.protocol, "UDP", "no TCP listener: stays on UDP");
      assert.ok((await peerUdp.next()).length > 1300);
    } finally {
      await peerUdp.close();
    }
  });
});

test("a malformed datagram is answered with 400, non-SIP bytes are dropped, and the transport keeps working", async () => {
  await withTransport({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }] }, async (t) => {
    const inbox = collect(t);
    const peer = await udpPeer("127.0.0.1");
    try {
      const bad = rawRequest("OPTIONS", "SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKbad").replace("CSeq: 1 OPTIONS", "CSeq: x OPTIONS");
      peer.send(bad, portOf(t, "UDP"));
      const reply = await peer.next();
      assert.match(reply, /^SIP\/2\.0 400 /);
      assert.match(reply, /branch=z9hG4bKbad/);
      const drop = await inbox.drop();
      assert.equal(drop.reason.code, "PARSE_ERROR");
      assert.ok(drop.reason.code === "PARSE_ERROR" && drop.reason.answered);
      peer.send(Buffer.from([0x16, 0x03, 0x01, 0xff, 0x00, 0x41]), portOf(t, "UDP"));
      const junk = await inbox.drop(2);
      assert.ok(junk.reason.code === "PARSE_ERROR" && !junk.reason.answered);
      peer.send("\r\n\r\n", portOf(t, "UDP"));
      peer.send(rawRequest("OPTIONS", "SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKgood"), portOf(t, "UDP"));
      assert.equal((await inbox.message()).message.kind, "request");
      assert.equal(inbox.drops.length, 2, "a keep-alive is not a drop");
      assert.equal(peer.received.length, 1);
    } finally {
      await peer.close();
    }
  });
});

test("TCP: bytes that are not SIP break the stream and close the connection; a handler that throws is contained", async () => {
  const errors: TransportError[] = [];
  await withTransport({ listen: [{ protocol: "TCP", address: "127.0.0.1", port: 0 }], onError: (e) => errors.push(e) }, async (t) => {
    const inbox = collect(t);
    const { socket, reader } = await tcpClient("127.0.0.1", portOf(t, "TCP"));
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const drop = await inbox.drop();
    assert.equal(drop.reason.code, "PARSE_ERROR");
    assert.equal(await reader.closedWithin(), true);
    socket.destroy();
    t.onMessage(() => {
      throw new Error("boom");
    });
    const second = await tcpClient("127.0.0.1", portOf(t, "TCP"));
    second.socket.write(rawRequest("OPTIONS", "SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKthrow"));
    await poll(() => errors.length > 0, 3000);
    assert.equal(errors[0]?.code, "ERR_TRANSPORT_HANDLER");
    assert.equal(second.reader.closed, false);
    second.socket.destroy();
  });
});

test("operational failures reject with stable codes", async () => {
  await withTransport({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }] }, async (t) => {
    const closedPort = await tcpServerPeer("127.0.0.1");
    const port = closedPort.port;
    await closedPort.close();
    await assert.rejects(t.sendRequest(outgoingRequest("OPTIONS"), { protocol: "TCP", remote: { address: "127.0.0.1", port } }), (e: unknown) => {
      assert.ok(e instanceof TransportError);
      assert.equal(e.code, "ERR_TRANSPORT_CONNECT");
      assert.ok(e.cause instanceof Error);
      return true;
    });
    await assert.rejects(t.sendRequest(outgoingRequest("OPTIONS"), { protocol: "UDP", remote: { address: "::1", port: 5060 } }), { code: "ERR_TRANSPORT_NO_LISTENER" });
    const noVia = outgoingRequest("OPTIONS");
    noVia.via = [];
    await assert.rejects(t.sendRequest(noVia, { protocol: "UDP", remote: { address: "127.0.0.1", port: 5060 } }), { code: "ERR_TRANSPORT_SEND" });
  });
  const holder = await createTransport({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }] });
  try {
    await assert.rejects(createTransport({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: portOf(holder, "UDP") }] }), { code: "ERR_TRANSPORT_BIND" });
  } finally {
    await holder.close();
  }
  const closed = await createTransport({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }] });
  await closed.close();
  await assert.rejects(closed.sendRequest(outgoingRequest("OPTIONS"), { protocol: "UDP", remote: { address: "127.0.0.1", port: 5060 } }), { code: "ERR_TRANSPORT_CLOSED" });
});

test("publicAddress is written in Via sent-by", async () => {
  await withTransport({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0, publicAddress: { host: "203.0.113.5", port: 5060 } }] }, async (t) => {
    const peer = await udpPeer("127.0.0.1");
    try {
      await t.sendRequest(outgoingRequest("OPTIONS"), { protocol: "UDP", remote: { address: "127.0.0.1", port: peer.port } });
      const via = parsed(await peer.next()).via[0];
      assert.deepEqual([via?.host, via?.port], ["203.0.113.5", 5060]);
    } finally {
      await peer.close();
    }
  });
});


test("a dual-stack UDP listener on :: talks to IPv4 peers with plain IPv4 addresses", async () => {
  await withTransport({ listen: [{ protocol: "UDP", address: "::", port: 0 }] }, async (t) => {
    const inbox = collect(t);
    const peer = await udpPeer("127.0.0.1");
    try {
      peer.send(rawRequest("OPTIONS", "SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKdual;rport"), portOf(t, "UDP"));
      const { message, context } = await inbox.message();
      assert.equal(context.remote.address, "127.0.0.1");
      assert.equal(message.via[0]?.params["received"], "127.0.0.1");
      await t.sendResponse(createResponse(message as SipRequest, 200), context);
      assert.match(await peer.next(), /^SIP\/2\.0 200 /);
      await t.sendRequest(outgoingRequest("OPTIONS"), { protocol: "UDP", remote: { address: "127.0.0.1", port: peer.port } });
      const via = parsed(await peer.next()).via[0];
      assert.deepEqual([via?.host, via?.port], ["127.0.0.1", portOf(t, "UDP")], "a wildcard bind writes a reachable address");
    } finally {
      await peer.close();
    }
  });
});
