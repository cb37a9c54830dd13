import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { once } from "node:events";
import { createResponse, type SipRequest } from "../message/index.ts";
import { createTransport } from "./create-transport.ts";
import { collect, outgoingRequest, pause, rawRequest, streamReader } from "../../../test/support/transport-peers.ts";
import type { SipTransport, TlsOptions, TransportOptions } from "./types.ts";

let dir = "";
let files: { certFile: string; keyFile: string } = { certFile: "", keyFile: "" };

before(() => {
  dir = mkdtempSync(join(tmpdir(), "trunkline-tls-"));
  files = { certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") };
  // One self-signed certificate valid for the loopback names; trusting it as a CA makes it verifiable.
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", files.keyFile, "-out", files.certFile, "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1",
  ], { stdio: "ignore" });
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const open: SipTransport[] = [];
async function make(tls: Partial<TlsOptions>, listen = true, extra: Partial<TransportOptions> = {}): Promise<SipTransport> {
  const t = await createTransport({
    listen: listen ? [{ protocol: "TLS", address: "127.0.0.1", port: 0 }] : [],
    tls: { ...files, ...tls },
    onError: () => {},
    ...extra,
  });
  open.push(t);
  return t;
}
async function closeAll(): Promise<void> {
  await Promise.all(open.splice(0).map((t) => t.close()));
}

function tlsPort(t: SipTransport): number {
  return t.listening().find((l) => l.protocol === "TLS")?.endpoint.port ?? 0;
}

test("TLS: client and server on loopback, response on the same connection", async () => {
  try {
    const server = await make({});
    const client = await make({ caFile: files.certFile });
    const serverInbox = collect(server);
    const clientInbox = collect(client);
    const used = await client.sendRequest(outgoingRequest("OPTIONS"), { protocol: "TLS", remote: { address: "127.0.0.1", port: tlsPort(server) } });
    assert.equal(used.protocol, "TLS");
    const { message, context } = await serverInbox.message();
    assert.equal(context.protocol, "TLS");
    assert.deepEqual([message.via[0]?.transport, message.via[0]?.port], ["TLS", tlsPort(client)]);
    await server.sendResponse(createResponse(message as SipRequest, 200), context);
    const reply = await clientInbox.message();
    assert.equal(reply.message.kind === "response" && reply.message.status, 200);
    assert.equal(reply.context.connectionId, used.connectionId);
    // A host name for SNI and verification, checked against the certificate's DNS name.
    const named = await make({ caFile: files.certFile }, false);
    await named.sendRequest(outgoingRequest("OPTIONS"), { protocol: "TLS", remote: { address: "127.0.0.1", port: tlsPort(server) }, serverName: "localhost" });
    await serverInbox.message();
  } finally {
    await closeAll();
  }
});

test("TLS: the server certificate is verified by default (verifyServer)", async () => {
  try {
    const server = await make({});
    const untrusting = await make({}, false);
    const target = { protocol: "TLS" as const, remote: { address: "127.0.0.1", port: tlsPort(server) } };
    await assert.rejects(untrusting.sendRequest(outgoingRequest("OPTIONS"), target), { code: "ERR_TRANSPORT_CONNECT" });
    const wrongName = await make({ caFile: files.certFile }, false);
    await assert.rejects(wrongName.sendRequest(outgoingRequest("OPTIONS"), { ...target, serverName: "carrier.example" }), { code: "ERR_TRANSPORT_CONNECT" });
    const lax = await make({ verifyServer: false }, false);
    const inbox = collect(server);
    await lax.sendRequest(outgoingRequest("OPTIONS"), target);
    await inbox.message();
  } finally {
    await closeAll();
  }
});

test("TLS: requireClientCert refuses a client without a certificate and accepts one with a trusted one", async () => {
  try {
    const server = await make({ caFile: files.certFile, requireClientCert: true });
    const inbox = collect(server);
    const bare = tlsConnect({ host: "127.0.0.1", port: tlsPort(server), rejectUnauthorized: false });
    bare.on("error", () => {});
    const reader = streamReader(bare);
    await once(bare, "secureConnect").catch(() => undefined);
    bare.write(rawRequest("OPTIONS", "SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKnocert"), () => {});
    assert.equal(await reader.closedWithin(), true);
    await pause(50);
    assert.equal(inbox.messages.length, 0);
    bare.destroy();

    const client = await make({ caFile: files.certFile }, false);
    await client.sendRequest(outgoingRequest("OPTIONS"), { protocol: "TLS", remote: { address: "127.0.0.1", port: tlsPort(server) } });
    assert.equal((await inbox.message()).context.protocol, "TLS");

    const optional = await make({ caFile: files.certFile, requireClientCert: false });
    const optionalInbox = collect(optional);
    const anon = tlsConnect({ host: "127.0.0.1", port: tlsPort(optional), rejectUnauthorized: false });
    await once(anon, "secureConnect");
    anon.write(rawRequest("OPTIONS", "SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKanon"));
    assert.equal((await optionalInbox.message()).message.kind, "request");
    anon.destroy();
  } finally {
    await closeAll();
  }
});

test("TLS over ::1", async () => {
  try {
    const server = await createTransport({ listen: [{ protocol: "TLS", address: "::1", port: 0 }], tls: files, onError: () => {} });
    open.push(server);
    const client = await make({ caFile: files.certFile }, false);
    const inbox = collect(server);
    const port = server.listening()[0]?.endpoint.port ?? 0;
    await client.sendRequest(outgoingRequest("OPTIONS"), { protocol: "TLS", remote: { address: "::1", port } });
    const { context } = await inbox.message();
    assert.equal(context.remote.address, "::1");
  } finally {
    await closeAll();
  }
});

test("TLS: connections in handshake count against maxConnections", async () => {
  try {
    const server = await make({}, true, { maxConnections: 1 });
    const inbox = collect(server);
    const first = tlsConnect({ host: "127.0.0.1", port: tlsPort(server), rejectUnauthorized: false });
    first.on("error", () => {});
    await once(first, "secureConnect");
    const second = tlsConnect({ host: "127.0.0.1", port: tlsPort(server), rejectUnauthorized: false });
    second.on("error", () => {});
    const reader = streamReader(second);
    assert.equal((await inbox.drop()).reason.code, "CONNECTION_LIMIT");
    assert.equal(await reader.closedWithin(), true);
    first.destroy();
    second.destroy();
  } finally {
    await closeAll();
  }
});

test("TLS: unreadable or invalid files reject createTransport with ERR_TRANSPORT_BIND", async () => {
  const listen = [{ protocol: "TLS" as const, address: "127.0.0.1", port: 0 }];
  await assert.rejects(createTransport({ listen, tls: { certFile: join(dir, "missing.pem"), keyFile: files.keyFile } }), { code: "ERR_TRANSPORT_BIND" });
  await assert.rejects(createTransport({ listen, tls: { certFile: files.keyFile, keyFile: files.certFile } }), { code: "ERR_TRANSPORT_BIND" });
  await assert.rejects(createTransport({ listen }), { code: "ERR_TRANSPORT_BIND" });
});
