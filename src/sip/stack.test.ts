// The hooks createSipStack passes down to its transport, checked through the stack itself on real
// loopback sockets: what a handler above the stack sees (or must not see) is what matters here.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { makeCa, makeLeaf, tlsPeer, type CertFiles } from "../../test/support/tls.ts";
import { rawRequest, tcpClient, udpPeer } from "../../test/support/transport-peers.ts";
import { poll, until } from "../../test/support/until.ts";
import type { Endpoint, InboundContext, TlsEvent } from "./transport/index.ts";
import { createSipStack, type SipStack, type SipStackOptions } from "./stack.ts";

let dir = "";
let ca: CertFiles;
let server: CertFiles;
let renewed: CertFiles;
let client: CertFiles;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "trunkline-stack-"));
  ca = makeCa(dir);
  server = makeLeaf(dir, "server", "localhost", ["DNS:localhost", "IP:127.0.0.1"], ca);
  renewed = makeLeaf(dir, "renewed", "renewed.example", ["DNS:localhost", "IP:127.0.0.1"], ca);
  client = makeLeaf(dir, "pbx", "pbx.example.com", ["DNS:pbx.example.com"], ca);
});

const stacks: SipStack[] = [];
after(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** A stack on 127.0.0.1 whose MESSAGE handler records each request's context and answers 200. */
async function stackWith(options: Omit<SipStackOptions, "listen">, protocol: "UDP" | "TCP" | "TLS") {
  const stack = await createSipStack({ listen: [{ protocol, address: "127.0.0.1", port: 0 }], onError: () => {}, ...options });
  stacks.push(stack);
  const seen: Array<{ callId: string; context: InboundContext }> = [];
  stack.handle("MESSAGE", (request, tx, context) => {
    seen.push({ callId: request.callId, context });
    stack.respond(tx, stack.response(request, 200));
  });
  const port = stack.transport.listening().find((l) => l.protocol === protocol)?.endpoint.port ?? 0;
  return { stack, seen, port };
}

const via = (protocol: string, port: number, branch: string): string => `SIP/2.0/${protocol} 127.0.0.1:${port};branch=z9hG4bK${branch}`;

describe("SIP stack: screen hook", () => {
  it("a dropped request gets no answer and never reaches the handler; a rejected one gets the stateless status; a passing one is served", async () => {
    const { stack, seen, port } = await stackWith(
      {
        screen: (request) =>
          request.callId.startsWith("drop") ? { kind: "drop", rule: "scanner" } : request.callId.startsWith("reject") ? { kind: "reject", status: 403, reason: "Forbidden" } : { kind: "pass" },
      },
      "UDP",
    );
    const peer = await udpPeer("127.0.0.1");
    try {
      peer.send(rawRequest("MESSAGE", via("UDP", peer.port, "drop1"), { callId: "drop-1" }), port);
      await until(() => stack.counters.dropped.get("SCREENED") === 1, 3000, "the SCREENED drop");
      assert.equal(stack.counters.dropped.get("SCREENED_SCANNER"), 1, "counted by rule too");

      peer.send(rawRequest("MESSAGE", via("UDP", peer.port, "reject1"), { callId: "reject-1" }), port);
      assert.match(await peer.next(1), /^SIP\/2\.0 403 Forbidden\r\n[^]*Call-ID: reject-1\r\n/);

      peer.send(rawRequest("MESSAGE", via("UDP", peer.port, "pass1"), { callId: "pass-1" }), port);
      assert.match(await peer.next(2), /^SIP\/2\.0 200 [^]*Call-ID: pass-1\r\n/);

      assert.deepEqual(seen.map((s) => s.callId), ["pass-1"], "only the passing request reached the handler");
      assert.equal(peer.received.length, 2, "nothing was sent for the dropped request");
      assert.equal(stack.counters.requestsIn.get("MESSAGE"), 1, "screened requests are not counted as received by the stack");
    } finally {
      await peer.close();
    }
  });
});

describe("SIP stack: datagram gate", () => {
  it("a datagram the gate refuses is dropped unparsed and unanswered, even when malformed; others are served", async () => {
    let blocked = true;
    const asked: Endpoint[] = [];
    const { stack, seen, port } = await stackWith(
      {
        datagramGate: (remote) => {
          asked.push(remote);
          return !blocked;
        },
      },
      "UDP",
    );
    const peer = await udpPeer("127.0.0.1");
    try {
      peer.send(rawRequest("MESSAGE", via("UDP", peer.port, "gate1"), { callId: "gated-1" }), port);
      peer.send("this is not SIP at all\r\n\r\n", port);
      await until(() => stack.counters.dropped.get("SCREENED") === 2, 3000, "two SCREENED drops");
      assert.equal(stack.counters.dropped.get("SCREENED_BANNED"), 2, "counted under the banned rule");
      assert.equal(stack.counters.dropped.get("PARSE_ERROR") ?? 0, 0, "the garbage was never parsed");
      assert.deepEqual(asked.map((r) => r.port), [peer.port, peer.port], "asked with the sender's address");

      blocked = false;
      peer.send(rawRequest("MESSAGE", via("UDP", peer.port, "gate2"), { callId: "open-1" }), port);
      assert.match(await peer.next(1), /^SIP\/2\.0 200 [^]*Call-ID: open-1\r\n/);
      assert.deepEqual(seen.map((s) => s.callId), ["open-1"]);
      assert.equal(peer.received.length, 1, "nothing was sent while the gate was shut");
    } finally {
      await peer.close();
    }
  });
});

describe("SIP stack: connection gate", () => {
  it("a refused connection is closed before any request reaches the handler; an accepted one is served and released on close", async () => {
    let admit = false;
    const accepted: Endpoint[] = [];
    const released: Endpoint[] = [];
    const { seen, port } = await stackWith(
      {
        connectionGate: {
          accept: (remote) => {
            if (admit) accepted.push(remote);
            return admit;
          },
          release: (remote) => released.push(remote),
        },
      },
      "TCP",
    );

    const refused = await tcpClient("127.0.0.1", port);
    refused.socket.write(rawRequest("MESSAGE", via("TCP", refused.socket.localPort ?? 0, "gate1"), { callId: "refused-1" }));
    assert.equal(await refused.reader.closedWithin(), true, "closed by the stack");
    assert.equal(refused.reader.messages.length, 0);

    admit = true;
    const allowed = await tcpClient("127.0.0.1", port);
    const localPort = allowed.socket.localPort ?? 0;
    allowed.socket.write(rawRequest("MESSAGE", via("TCP", localPort, "gate2"), { callId: "allowed-1" }));
    assert.match(await allowed.reader.next(), /^SIP\/2\.0 200 [^]*Call-ID: allowed-1\r\n/);
    assert.deepEqual(accepted, [{ address: "127.0.0.1", port: localPort }]);
    assert.deepEqual(released, [], "still open");
    allowed.socket.destroy();
    await until(() => released.length === 1, 3000, "the release of the closed connection");
    assert.deepEqual(released, [{ address: "127.0.0.1", port: localPort }]);
    assert.deepEqual(seen.map((s) => s.callId), ["allowed-1"]);
  });
});

describe("SIP stack: TLS", () => {
  it("every request on a mutual-TLS connection carries the client certificate's facts up to the handler", async () => {
    const { seen, port } = await stackWith({ tls: { ...server, caFile: ca.certFile, requestClientCert: true, reloadCheckMs: 0 } }, "TLS");
    const pbx = await tlsPeer({ address: "127.0.0.1", port }, { ca: readFileSync(ca.certFile), servername: "localhost", cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) });
    const anonymous = await tlsPeer({ address: "127.0.0.1", port }, { ca: readFileSync(ca.certFile), servername: "localhost" });
    try {
      for (const n of [1, 2]) {
        await pbx.send(rawRequest("MESSAGE", via("TLS", pbx.port, `mtls${n}`), { callId: `pbx-${n}` }));
        await pbx.waitFor(n, 3000);
      }
      await anonymous.send(rawRequest("MESSAGE", via("TLS", anonymous.port, "anon1"), { callId: "anon-1" }));
      await anonymous.waitFor(1, 3000);
      assert.deepEqual(
        seen.map((s) => [s.callId, s.context.protocol, s.context.tls]),
        [
          ["pbx-1", "TLS", { verified: true, subject: "pbx.example.com", altNames: ["DNS:pbx.example.com"], error: null }],
          ["pbx-2", "TLS", { verified: true, subject: "pbx.example.com", altNames: ["DNS:pbx.example.com"], error: null }],
          ["anon-1", "TLS", { verified: false, subject: null, altNames: [], error: "NO_CERTIFICATE" }],
        ],
      );
      assert.deepEqual(pbx.received.map((r) => r.status), [200, 200]);
    } finally {
      pbx.close();
      anonymous.close();
    }
  });

  it("a renewed certificate pair is picked up by the running stack: onTlsEvent hears of it and the next connection is served with it", async () => {
    const live = { certFile: join(dir, "live.pem"), keyFile: join(dir, "live.key") };
    copyFileSync(server.certFile, live.certFile);
    copyFileSync(server.keyFile, live.keyFile);
    const events: TlsEvent[] = [];
    const { port } = await stackWith({ tls: { ...live, caFile: ca.certFile, reloadCheckMs: 30 }, onTlsEvent: (e) => events.push(e) }, "TLS");
    assert.equal(await servedCn(port), "localhost");

    // Renewal as certbot does it: new files renamed into place, certificate first.
    copyFileSync(renewed.certFile, `${live.certFile}.new`);
    copyFileSync(renewed.keyFile, `${live.keyFile}.new`);
    renameSync(`${live.certFile}.new`, live.certFile);
    renameSync(`${live.keyFile}.new`, live.keyFile);
    await until(() => events.some((e) => e.kind === "reloaded"), 5000, "a reloaded event");
    assert.equal(await servedCn(port), "renewed.example");

    // The stack still answers over the new certificate.
    const peer = await tlsPeer({ address: "127.0.0.1", port }, { ca: readFileSync(ca.certFile), servername: "localhost" });
    try {
      await peer.send(rawRequest("MESSAGE", via("TLS", peer.port, "reload1"), { callId: "after-reload" }));
      assert.equal(await poll(() => peer.received.length > 0, 3000), true);
      assert.equal(peer.received[0]?.status, 200);
    } finally {
      peer.close();
    }
  });
});

/** The subject CN of the certificate the server presents to a fresh connection. */
function servedCn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false });
    s.once("secureConnect", () => {
      const cn = s.getPeerCertificate().subject?.CN;
      s.destroy();
      resolve(typeof cn === "string" ? cn : "");
    });
    s.once("error", (e) => {
      s.destroy();
      reject(e);
    });
  });
}
