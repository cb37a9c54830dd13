// Mutual TLS per customer trunk against a running Trunkline on loopback: a PBX with a CA-signed
// client certificate places a whole call over TLS (INVITE, 200 with a sips: Contact, ACK, BYE)
// to a carrier on UDP; the same PBX without a certificate, or with an untrusted one, is refused
// with 403; a TLS 1.1 client never gets in. Each refusal is a security event in the log.
// (This SIPp build has no TLS, so the PBX is a raw TLS client.)
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { parseConfigText } from "../../src/config/index.ts";
import { startTrunkline, type TrunklineHandle } from "../../src/main.ts";
import { createResponse, parseMessage, serializeMessage } from "../../src/sip/index.ts";
import { freePort } from "../support/ports.ts";
import { makeCa, makeLeaf, tlsPeer, type CertFiles, type TlsPeer } from "../support/tls.ts";
import { poll, until } from "../support/until.ts";

const PBX_ADDRESS = "127.0.5.1";
const CARRIER_ADDRESS = "127.0.6.1";

let dir = "";
let ca: CertFiles;
let client: CertFiles;
let stranger: CertFiles;
let wrongName: CertFiles;
let handle: TrunklineHandle;
let sipPort = 0;
let carrier: Socket;
const logLines: Array<Record<string, unknown>> = [];

/** A carrier gateway on UDP that answers every INVITE with 200 and an SDP answer, and every BYE with 200. */
async function startCarrier(port: number): Promise<Socket> {
  const sock = createSocket("udp4");
  sock.on("message", (data, rinfo) => {
    const parsed = parseMessage(data);
    if (!parsed.ok || parsed.message.kind !== "request") return;
    const req = parsed.message;
    if (req.method === "ACK") return;
    const body = req.method === "INVITE" ? sdp(CARRIER_ADDRESS, 41000) : "";
    const res = createResponse(req, 200, "OK", {
      toTag: "carrier1",
      ...(body !== "" ? { contentType: "application/sdp", body: Buffer.from(body) } : {}),
    });
    res.contact = [{ displayName: null, uri: { scheme: "sip", user: "gw", password: null, host: CARRIER_ADDRESS, port, params: {}, headers: [] }, params: {} }];
    sock.send(serializeMessage(res), rinfo.port, rinfo.address);
  });
  sock.bind(port, CARRIER_ADDRESS);
  await once(sock, "listening");
  return sock;
}

function sdp(address: string, port: number): string {
  return ["v=0", `o=- 1 1 IN IP4 ${address}`, "s=-", `c=IN IP4 ${address}`, "t=0 0", `m=audio ${port} RTP/AVP 0`, "a=rtpmap:0 PCMU/8000", ""].join("\r\n");
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "trunkline-mtls-"));
  ca = makeCa(dir);
  const server = makeLeaf(dir, "server", "localhost", ["DNS:localhost", "IP:127.0.0.1"], ca);
  client = makeLeaf(dir, "client", "pbx.example.com", ["DNS:pbx.example.com"], ca);
  stranger = makeLeaf(dir, "stranger", "pbx.example.com", ["DNS:pbx.example.com"], null);
  wrongName = makeLeaf(dir, "other", "other.example.com", ["DNS:other.example.com"], ca);
  sipPort = await freePort("127.0.0.1");
  const carrierPort = await freePort(CARRIER_ADDRESS);
  carrier = await startCarrier(carrierPort);
  // A media range of its own, so parallel tests do not fight over relay ports.
  const mediaBase = 40_000 + Math.floor(Math.random() * 2000) * 10;
  const yaml = `
sip:
  listen:
    - { protocol: udp, address: "127.0.0.1", port: ${sipPort} }
    - { protocol: tls, address: "127.0.0.1", port: ${sipPort} }
  tls:
    certFile: ${JSON.stringify(server.certFile)}
    keyFile: ${JSON.stringify(server.keyFile)}
    caFile: ${JSON.stringify(ca.certFile)}
storage:
  path: ${JSON.stringify(join(dir, "trunkline.db"))}
log:
  level: info
http:
  enabled: false
health:
  enabled: false
media:
  portMin: ${mediaBase}
  portMax: ${mediaBase + 9}
provisioning:
  customers:
    - name: securepbx
      mode: static
      uri: "sips:pbx@${PBX_ADDRESS}:5061"
      sourceAddresses: ["${PBX_ADDRESS}/32"]
      tls: { requireClientCert: true, subject: pbx.example.com }
    - name: securereg
      mode: registration
      auth: { username: "securereg", password: "reg-secret-1" }
      tls: { requireClientCert: true }
  carriers:
    - name: carrier
      gateways: ["sip:${CARRIER_ADDRESS}:${carrierPort}"]
      sourceAddresses: ["${CARRIER_ADDRESS}/32"]
  routes:
    - { prefix: "1", carriers: [carrier] }
`;
  const parsed = parseConfigText(yaml, "tls-mtls");
  if (!parsed.ok) throw new Error(`config invalid: ${JSON.stringify(parsed.error)}`);
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line.trim() !== "") logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  handle = await startTrunkline(parsed.value, { logDestination: sink });
});

after(async () => {
  await handle?.stop();
  carrier?.close();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
/** An INVITE from the PBX over its TLS connection. */
function invite(peer: TlsPeer, callId: string): string {
  const body = sdp(PBX_ADDRESS, 40_000);
  return [
    `INVITE sip:+15551230000@127.0.0.1:${sipPort};transport=tls SIP/2.0`,
    `Via: SIP/2.0/TLS ${PBX_ADDRESS}:${peer.port};branch=z9hG4bKmtls${++seq};rport`,
    `From: <sips:+15550001111@${PBX_ADDRESS}>;tag=pbx${seq}`,
    `To: <sip:+15551230000@127.0.0.1>`,
    `Call-ID: ${callId}`,
    `CSeq: 1 INVITE`,
    `Contact: <sips:pbx@${PBX_ADDRESS}:${peer.port};transport=tls>`,
    `Max-Forwards: 70`,
    `Content-Type: application/sdp`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    ``,
    body,
  ].join("\r\n");
}

/** An in-dialog request (ACK or BYE) after the 200 with the given To tag. */
function inDialog(method: "ACK" | "BYE", peer: TlsPeer, callId: string, fromTag: string, toTag: string, cseq: number, target: string): string {
  return [
    `${method} ${target} SIP/2.0`,
    `Via: SIP/2.0/TLS ${PBX_ADDRESS}:${peer.port};branch=z9hG4bKmtls${++seq};rport`,
    `From: <sips:+15550001111@${PBX_ADDRESS}>;tag=${fromTag}`,
    `To: <sip:+15551230000@127.0.0.1>;tag=${toTag}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} ${method}`,
    `Max-Forwards: 70`,
    `Content-Length: 0`,
    ``,
    ``,
  ].join("\r\n");
}

function pem(files: CertFiles): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
}

async function finalOf(peer: TlsPeer, callId: string, ms = 8000): Promise<{ status: number; raw: string }> {
  const find = () => peer.received.find((r) => r.callId === callId && r.status !== null && r.status >= 200 && r.cseqMethod === "INVITE");
  await until(() => find() !== undefined, ms, () => `a final response for ${callId}; got ${peer.received.map((r) => r.status).join(",")}`);
  const final = find();
  return { status: final?.status ?? 0, raw: final?.raw ?? "" };
}

const securityEvents = (): Array<Record<string, unknown>> => logLines.filter((l) => l["security"] === true);

describe("mutual TLS customer trunk", () => {
  test("a PBX with a CA-signed client certificate naming its subject is identified, and the call completes over TLS", async () => {
    const peer = await tlsPeer({ address: "127.0.0.1", port: sipPort }, { localAddress: PBX_ADDRESS, ca: readFileSync(ca.certFile), servername: "localhost", ...pem(client) });
    try {
      const callId = `mtls-good-${Date.now()}`;
      await peer.send(invite(peer, callId));
      const final = await finalOf(peer, callId);
      assert.equal(final.status, 200, final.raw);
      // Our Contact on a TLS leg is a sips: URI.
      const contact = /^(?:Contact|m)\s*:\s*<([^>]+)>/im.exec(final.raw)?.[1] ?? "";
      assert.match(contact, /^sips:/);
      const toTag = /^(?:To|t)\s*:.*;tag=([^;\s]+)/im.exec(final.raw)?.[1] ?? "";
      const fromTag = `pbx${seq}`;
      await peer.send(inDialog("ACK", peer, callId, fromTag, toTag, 1, contact));
      const before = peer.received.length;
      await peer.send(inDialog("BYE", peer, callId, fromTag, toTag, 2, contact));
      await peer.waitFor(before + 1, 5000);
      const bye = peer.received.slice(before).find((r) => r.cseqMethod === "BYE");
      assert.equal(bye?.status, 200);
    } finally {
      peer.close();
    }
  });

  const refusals: Array<[name: string, options: () => Record<string, unknown>, reason: RegExp]> = [
    ["without a client certificate", () => ({}), /no client certificate/],
    ["with a self-signed certificate for the right name", () => pem(stranger), /not trusted/],
    ["with a CA-signed certificate for another name", () => pem(wrongName), /requires a client certificate for "pbx\.example\.com"/],
  ];
  for (const [name, options, reason] of refusals) {
    test(`the same PBX ${name} is refused with 403 and a security event`, async () => {
      const peer = await tlsPeer({ address: "127.0.0.1", port: sipPort }, { localAddress: PBX_ADDRESS, ca: readFileSync(ca.certFile), servername: "localhost", ...options() });
      try {
        const callId = `mtls-refused-${Date.now()}-${seq}`;
        await peer.send(invite(peer, callId));
        const final = await finalOf(peer, callId);
        assert.equal(final.status, 403, final.raw);
        await new Promise((r) => setTimeout(r, 50));
        const event = securityEvents().find((e) => e["callId"] === callId);
        assert.ok(event, "security event logged");
        assert.equal(event["source"], `${PBX_ADDRESS}:${peer.port}`);
        assert.match(String(event["detail"]), reason);
      } finally {
        peer.close();
      }
    });
  }

  test("a TLS 1.1 client never gets a connection; the failure is a security event with its source", async () => {
    const before = securityEvents().length;
    // SECLEVEL=0 lets this OpenSSL offer TLS 1.1 at all, so it is the server that refuses.
    const options: ConnectionOptions & { localAddress: string } = {
      host: "127.0.0.1",
      port: sipPort,
      localAddress: PBX_ADDRESS,
      minVersion: "TLSv1.1",
      maxVersion: "TLSv1.1",
      ciphers: "DEFAULT:@SECLEVEL=0",
      rejectUnauthorized: false,
    };
    const s = tlsConnect(options);
    const outcome = await new Promise<string>((resolve) => {
      s.once("secureConnect", () => resolve("connected"));
      s.once("error", (e: Error & { code?: string }) => resolve(e.code ?? "error"));
    });
    s.destroy();
    assert.notEqual(outcome, "connected");
    await poll(() => securityEvents().slice(before).some((e) => e["reason"] === "tls-handshake-failed"), 3000);
    const event = securityEvents().slice(before).find((e) => e["reason"] === "tls-handshake-failed");
    assert.ok(event, "tls-handshake-failed security event");
    assert.match(String(event["source"]), new RegExp(`^${PBX_ADDRESS.replace(/\./g, "\\.")}:`));
    assert.equal(event["code"], "ERR_SSL_UNSUPPORTED_PROTOCOL");
    assert.equal(event["direction"], "inbound");
  });
});

const md5 = (text: string): string => createHash("md5").update(text).digest("hex");

/** REGISTERs over the peer's connection, answering the MD5 digest challenge; resolves with the final status. */
async function register(peer: TlsPeer, username: string, password: string): Promise<number> {
  const callId = `mtls-reg-${Date.now()}-${++seq}`;
  const uri = `sip:127.0.0.1:${sipPort}`;
  const request = (cseq: number, authorization: string | null): string =>
    [
      `REGISTER ${uri} SIP/2.0`,
      `Via: SIP/2.0/TLS ${PBX_ADDRESS}:${peer.port};branch=z9hG4bKreg${++seq};rport`,
      `From: <sip:${username}@127.0.0.1>;tag=reg${seq}`,
      `To: <sip:${username}@127.0.0.1>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sips:${username}@${PBX_ADDRESS}:${peer.port};transport=tls>`,
      `Expires: 300`,
      ...(authorization !== null ? [`Authorization: ${authorization}`] : []),
      `Max-Forwards: 70`,
      `Content-Length: 0`,
      ``,
      ``,
    ].join("\r\n");
  const answerTo = async (cseq: number): Promise<{ status: number; raw: string }> => {
    const find = () => peer.received.find((x) => x.callId === callId && x.status !== null && x.status >= 200 && new RegExp(`^CSeq\\s*:\\s*${cseq} `, "im").test(x.raw));
    await until(() => find() !== undefined || peer.closed, 5000, `an answer to REGISTER ${cseq}`);
    const r = find();
    if (r === undefined) throw new Error(`no answer to REGISTER ${cseq}: the connection closed`);
    return { status: r.status ?? 0, raw: r.raw };
  };
  await peer.send(request(1, null));
  const first = await answerTo(1);
  if (first.status !== 401) return first.status;
  // The first (MD5) challenge, as most PBXs answer it.
  const challenge = /^WWW-Authenticate\s*:\s*Digest (.*)$/im.exec(first.raw)?.[1] ?? "";
  const param = (name: string): string => new RegExp(`${name}="?([^",]+)"?`).exec(challenge)?.[1] ?? "";
  const realm = param("realm");
  const nonce = param("nonce");
  const cnonce = "0a4f113b";
  const ha1 = md5(`${username}:${realm}:${password}`);
  const response = md5(`${ha1}:${nonce}:00000001:${cnonce}:auth:${md5(`REGISTER:${uri}`)}`);
  await peer.send(
    request(2, `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${cnonce}"`),
  );
  return (await answerTo(2)).status;
}

describe("mutual TLS for a registering customer", () => {
  test("REGISTER with the right password but no client certificate is refused; with one it is accepted", async () => {
    const bare = await tlsPeer({ address: "127.0.0.1", port: sipPort }, { localAddress: PBX_ADDRESS, ca: readFileSync(ca.certFile), servername: "localhost" });
    try {
      assert.equal(await register(bare, "securereg", "reg-secret-1"), 403);
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(securityEvents().some((e) => e["reason"] === "mtls-required" && e["account"] === "securereg"), "mtls-required security event");
    } finally {
      bare.close();
    }
    const good = await tlsPeer({ address: "127.0.0.1", port: sipPort }, { localAddress: PBX_ADDRESS, ca: readFileSync(ca.certFile), servername: "localhost", ...pem(client) });
    try {
      assert.equal(await register(good, "securereg", "reg-secret-1"), 200);
    } finally {
      good.close();
    }
  });
});
