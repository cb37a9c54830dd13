// Hardened TLS on real loopback sockets: protocol versions, cipher policy, certificate reload
// without a restart, verification of outbound peers (host name and IP SAN), client certificate
// facts handed up for mutual TLS, and sips: never leaving TLS. Certificates come from openssl.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { DEFAULT_SIP_TLS_CIPHERS } from "../../src/config/schema.ts";
import {
  DEFAULT_TLS_CIPHERS,
  createTransport,
  resolveTarget,
  type SipTransport,
  type TlsEvent,
  type TlsOptions,
  type TransportOptions,
} from "../../src/sip/index.ts";
import { collect, outgoingRequest, rawRequest } from "../support/transport-peers.ts";
import { makeCa, makeLeaf, type CertFiles } from "../support/tls.ts";
import { until } from "../support/until.ts";

let dir = "";
let ca: CertFiles;
let server: CertFiles; // CA-signed, localhost + 127.0.0.1
let renewed: CertFiles; // CA-signed, CN renewed.example, for the reload test
let dnsOnly: CertFiles; // CA-signed, DNS:localhost only (no IP SAN)
let client: CertFiles; // CA-signed client certificate of a PBX
let stranger: CertFiles; // self-signed client certificate

before(() => {
  dir = mkdtempSync(join(tmpdir(), "trunkline-tls-hardening-"));
  ca = makeCa(dir);
  server = makeLeaf(dir, "server", "localhost", ["DNS:localhost", "IP:127.0.0.1"], ca);
  renewed = makeLeaf(dir, "renewed", "renewed.example", ["DNS:localhost", "IP:127.0.0.1"], ca);
  dnsOnly = makeLeaf(dir, "dns-only", "localhost", ["DNS:localhost"], ca);
  client = makeLeaf(dir, "client", "pbx.example.com", ["DNS:pbx.example.com"], ca);
  stranger = makeLeaf(dir, "stranger", "pbx.example.com", ["DNS:pbx.example.com"], null);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const open: SipTransport[] = [];
async function closeAll(): Promise<void> {
  await Promise.all(open.splice(0).map((t) => t.close()));
}

/** A transport (TLS listener on 127.0.0.1 unless listen is false) that records its TLS events. */
async function make(tls: Partial<TlsOptions>, listen = true, extra: Partial<TransportOptions> = {}): Promise<{ t: SipTransport; events: TlsEvent[]; port: number }> {
  const events: TlsEvent[] = [];
  const t = await createTransport({
    listen: listen ? [{ protocol: "TLS", address: "127.0.0.1", port: 0 }] : [],
    tls: { ...server, caFile: ca.certFile, ...tls },
    onError: () => {},
    onTlsEvent: (e) => events.push(e),
    ...extra,
  });
  open.push(t);
  return { t, events, port: t.listening().find((l) => l.protocol === "TLS")?.endpoint.port ?? 0 };
}

/** Handshakes a raw Node TLS client; resolves with what was negotiated or the client's error code. */
function handshake(port: number, options: ConnectionOptions): Promise<{ ok: true; protocol: string | null; cipher: string; peerCn: string } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...options });
    s.once("secureConnect", () => {
      const cn = s.getPeerCertificate().subject?.CN;
      resolve({ ok: true, protocol: s.getProtocol(), cipher: s.getCipher().name, peerCn: typeof cn === "string" ? cn : "" });
      s.destroy();
    });
    s.once("error", (e: Error & { code?: string }) => {
      resolve({ ok: false, code: e.code ?? "?" });
      s.destroy();
    });
  });
}

const failures = (events: TlsEvent[]) => events.filter((e): e is Extract<TlsEvent, { kind: "handshake-failed" }> => e.kind === "handshake-failed");

test("the config's documented default cipher list is the transport's", () => {
  assert.equal(DEFAULT_SIP_TLS_CIPHERS, DEFAULT_TLS_CIPHERS);
});

describe("protocol versions and ciphers", () => {
  after(closeAll);

  test("TLS 1.0 and 1.1 clients are refused, each a handshake-failed event; 1.2 and 1.3 are served", async () => {
    const { events, port } = await make({});
    // SECLEVEL=0 lets this OpenSSL offer the old versions at all, so it is the server that refuses.
    const old = { ciphers: "DEFAULT:@SECLEVEL=0" };
    const v10 = await handshake(port, { ...old, minVersion: "TLSv1", maxVersion: "TLSv1" });
    const v11 = await handshake(port, { ...old, minVersion: "TLSv1.1", maxVersion: "TLSv1.1" });
    assert.deepEqual([v10.ok, v11.ok], [false, false]);
    await until(() => failures(events).length >= 2, 5000, "two handshake failures");
    for (const e of failures(events)) {
      assert.equal(e.direction, "inbound");
      assert.equal(e.code, "ERR_SSL_UNSUPPORTED_PROTOCOL");
      assert.equal(e.remote.address, "127.0.0.1");
    }
    const v12 = await handshake(port, { maxVersion: "TLSv1.2" });
    const v13 = await handshake(port, { minVersion: "TLSv1.3" });
    assert.deepEqual([v12.ok && v12.protocol, v13.ok && v13.protocol], ["TLSv1.2", "TLSv1.3"]);
  });

  test("weak TLS 1.2 ciphers (CBC, SHA-1) are refused; the server's order picks among strong ones", async () => {
    const { events, port } = await make({});
    for (const weak of ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256"]) {
      const r = await handshake(port, { maxVersion: "TLSv1.2", ciphers: weak });
      assert.equal(r.ok, false, weak);
    }
    await until(() => failures(events).length >= 3, 5000, "three handshake failures");
    assert.ok(failures(events).every((e) => e.code === "ERR_SSL_NO_SHARED_CIPHER"));
    // The client prefers AES-128; honorCipherOrder makes the server's AES-256 win.
    const r = await handshake(port, { maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384" });
    assert.equal(r.ok && r.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
  });

  test("minVersion TLSv1.3 refuses TLS 1.2 too", async () => {
    const { port } = await make({ minVersion: "TLSv1.3" });
    assert.equal((await handshake(port, { maxVersion: "TLSv1.2" })).ok, false);
    assert.equal((await handshake(port, {})).ok, true);
  });
});

describe("certificate reload without a restart", () => {
  after(closeAll);

  test("a renewed pair is served to the next connection; a broken one is reported and the old one kept", async () => {
    const live = { certFile: join(dir, "live.pem"), keyFile: join(dir, "live.key") };
    copyFileSync(server.certFile, live.certFile);
    copyFileSync(server.keyFile, live.keyFile);
    const { events, port } = await make({ ...live, reloadCheckMs: 30 });
    assert.equal((await handshake(port, {})).ok && "served", "served");
    assert.deepEqual(await handshake(port, {}).then((r) => r.ok && r.peerCn), "localhost");

    // As certbot does: new files renamed into place, key after certificate.
    const swap = (from: CertFiles): void => {
      copyFileSync(from.certFile, `${live.certFile}.new`);
      copyFileSync(from.keyFile, `${live.keyFile}.new`);
      renameSync(`${live.certFile}.new`, live.certFile);
      renameSync(`${live.keyFile}.new`, live.keyFile);
    };
    swap(renewed);
    await until(() => events.some((e) => e.kind === "reloaded"), 5000, "reloaded event");
    const reloaded = events.find((e) => e.kind === "reloaded");
    assert.match(reloaded?.kind === "reloaded" ? (reloaded.subject ?? "") : "", /renewed\.example/);
    assert.equal(await handshake(port, {}).then((r) => r.ok && r.peerCn), "renewed.example");

    // A certificate with someone else's key: reported once, the renewed pair stays in service.
    copyFileSync(server.certFile, `${live.certFile}.new`);
    renameSync(`${live.certFile}.new`, live.certFile);
    await until(() => events.some((e) => e.kind === "reload-failed"), 5000, "reload-failed event");
    const failed = events.find((e) => e.kind === "reload-failed");
    assert.match(failed?.kind === "reload-failed" ? failed.code : "", /MISMATCH|KEY/i);
    assert.equal(await handshake(port, {}).then((r) => r.ok && r.peerCn), "renewed.example");
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(events.filter((e) => e.kind === "reload-failed").length, 1, "reported once per version of the files");

    // Put right again, it loads.
    copyFileSync(server.keyFile, `${live.keyFile}.new`);
    renameSync(`${live.keyFile}.new`, live.keyFile);
    await until(() => events.filter((e) => e.kind === "reloaded").length === 2, 5000, "second reload");
    assert.equal(await handshake(port, {}).then((r) => r.ok && r.peerCn), "localhost");
  });
});

describe("outbound peer verification", () => {
  after(closeAll);

  test("host name: a wrong name fails with an event, the right one passes", async () => {
    const { port } = await make({});
    const { t: out, events } = await make({ ...client }, false);
    const target = { protocol: "TLS" as const, remote: { address: "127.0.0.1", port } };
    await assert.rejects(out.sendRequest(outgoingRequest("OPTIONS"), { ...target, serverName: "carrier.example" }), { code: "ERR_TRANSPORT_CONNECT" });
    const [failure] = failures(events);
    assert.equal(failure?.direction, "outbound");
    assert.equal(failure?.code, "ERR_TLS_CERT_ALTNAME_INVALID");
    assert.equal(failure?.serverName, "carrier.example");
    const used = await out.sendRequest(outgoingRequest("OPTIONS"), { ...target, serverName: "localhost" });
    assert.equal(used.protocol, "TLS");
  });

  test("address target: checked against the IP SANs", async () => {
    const withIp = await make({});
    const withoutIp = await make({ ...dnsOnly });
    const { t: out, events } = await make({ ...client }, false);
    await out.sendRequest(outgoingRequest("OPTIONS"), { protocol: "TLS", remote: { address: "127.0.0.1", port: withIp.port } });
    await assert.rejects(out.sendRequest(outgoingRequest("OPTIONS"), { protocol: "TLS", remote: { address: "127.0.0.1", port: withoutIp.port } }), {
      code: "ERR_TRANSPORT_CONNECT",
    });
    assert.equal(failures(events)[0]?.code, "ERR_TLS_CERT_ALTNAME_INVALID");
  });

  test("an untrusted CA fails; verifyServer false is the escape hatch", async () => {
    const { port } = await make({});
    // The CA file names only the stranger's self-signed certificate, so our CA is unknown.
    const { t: out, events } = await make({ ...client, caFile: stranger.certFile }, false);
    const target = { protocol: "TLS" as const, remote: { address: "127.0.0.1", port } };
    await assert.rejects(out.sendRequest(outgoingRequest("OPTIONS"), target), { code: "ERR_TRANSPORT_CONNECT" });
    assert.match(failures(events)[0]?.code ?? "", /UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|SELF_SIGNED/);
    const { t: lax } = await make({ ...client, caFile: stranger.certFile, verifyServer: false }, false);
    assert.equal((await lax.sendRequest(outgoingRequest("OPTIONS"), target)).protocol, "TLS");
  });
});

describe("client certificates handed up for mutual TLS", () => {
  after(closeAll);

  test("verified, absent and untrusted client certificates arrive as InboundContext.tls", async () => {
    const { t, port } = await make({ requestClientCert: true });
    const inbox = collect(t);
    const send = async (options: ConnectionOptions, branch: string): Promise<void> => {
      const s = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...options });
      s.on("error", () => {});
      await new Promise((r) => s.once("secureConnect", r));
      s.write(rawRequest("OPTIONS", `SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK${branch}`));
      await inbox.message();
      s.destroy();
    };
    const { readFileSync } = await import("node:fs");
    await send({ cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) }, "good");
    await send({}, "none");
    await send({ cert: readFileSync(stranger.certFile), key: readFileSync(stranger.keyFile) }, "stranger");
    const [good, none, untrusted] = inbox.messages.map((m) => m.context.tls);
    assert.deepEqual(good, { verified: true, subject: "pbx.example.com", altNames: ["DNS:pbx.example.com"], error: null });
    assert.deepEqual(none, { verified: false, subject: null, altNames: [], error: "NO_CERTIFICATE" });
    assert.equal(untrusted?.verified, false);
    assert.equal(untrusted?.subject, "pbx.example.com");
    assert.match(untrusted?.error ?? "", /SELF_SIGNED|UNABLE/);
  });

  test("requireClientCert refuses an untrusted certificate at the handshake, with an event", async () => {
    const { t, events, port } = await make({ requireClientCert: true });
    const inbox = collect(t);
    const { readFileSync } = await import("node:fs");
    // The client may see its handshake complete before the server checks its certificate, so
    // what counts is that nothing it sends gets through and that the refusal is reported.
    const s = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, cert: readFileSync(stranger.certFile), key: readFileSync(stranger.keyFile) });
    s.on("error", () => {});
    const closed = new Promise((r) => s.once("close", r));
    s.once("secureConnect", () => s.write(rawRequest("OPTIONS", "SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKstranger"), () => {}));
    await until(() => failures(events).length > 0, 5000, "handshake failure");
    await closed;
    assert.match(failures(events)[0]?.code ?? "", /SELF_SIGNED|UNABLE/);
    assert.equal(inbox.messages.length, 0);
  });
});

describe("sips: end to end", () => {
  after(closeAll);

  test("a sips: request never goes over TCP or UDP, and RFC 3263 gives only TLS for it", async () => {
    const tcp = await createTransport({ listen: [{ protocol: "TCP", address: "127.0.0.1", port: 0 }, { protocol: "UDP", address: "127.0.0.1", port: 0 }], onError: () => {} });
    open.push(tcp);
    const inbox = collect(tcp);
    const tcpPort = tcp.listening()[0]?.endpoint.port ?? 0;
    const { t: out } = await make({ ...client }, false, { listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }] });
    const secure = outgoingRequest("OPTIONS");
    secure.uri = { scheme: "sips", user: "bob", password: null, host: "127.0.0.1", port: tcpPort, params: {}, headers: [] };
    for (const protocol of ["TCP", "UDP"] as const) {
      await assert.rejects(out.sendRequest(secure, { protocol, remote: { address: "127.0.0.1", port: tcpPort } }), { code: "ERR_TRANSPORT_SEND" });
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(inbox.messages.length, 0, "nothing reached the plain listeners");

    const hops = await resolveTarget("sips:bob@127.0.0.1:5061");
    assert.deepEqual(hops.map((h) => h.protocol), ["TLS"]);
    await assert.rejects(resolveTarget("sips:bob@127.0.0.1;transport=udp"), { code: "ERR_TRANSPORT_RESOLVE" });

    const tlsServer = await make({});
    const tlsInbox = collect(tlsServer.t);
    secure.uri = { ...secure.uri, port: tlsServer.port };
    const used = await out.sendRequest(secure, { protocol: "TLS", remote: { address: "127.0.0.1", port: tlsServer.port } });
    assert.equal(used.protocol, "TLS");
    const { message } = await tlsInbox.message();
    assert.equal(message.kind === "request" && message.uri.scheme, "sips");
  });
});
