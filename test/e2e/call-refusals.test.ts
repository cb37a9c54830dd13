// Refusals of new calls, driven with raw UDP so each answer's headers can be read: unknown user
// after a challenge (403, logged with security: true), destination not allowed (403), no route
// (404), Session-Expires below Min-SE (422), channel limit (503 with Retry-After and a Reason).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { answerChallenge, getHeader, parseMessage, type SipResponse } from "../../src/sip/index.ts";
import { udpPeer, type RawPeer } from "../support/raw-sip.ts";
import { startCallHarness, until, type CallHarness } from "./call-harness.ts";

let h: CallHarness;

before(async () => {
  h = await startCallHarness((p) => ({
    ...p,
    customers: [
      ...p.customers.map((c) => (c.id === "loadtest" ? { ...c, limits: { ...c.limits, channels: 0 } } : c)),
      { ...p.customers.find((c) => c.id === "loadtest")!, id: "open", name: "open", identification: { cidrs: ["127.0.7.0/24"], credentials: [] }, dids: [] },
    ],
  }));
});

after(async () => {
  await h.stop();
});

let seq = 0;

function invite(peer: { address: string; port: number }, user: string, extra: string[] = [], cseq = 1, callId = `refusal-${++seq}`): string {
  return [
    `INVITE sip:${user}@127.0.0.1:${h.port} SIP/2.0`,
    `Via: SIP/2.0/UDP ${peer.address}:${peer.port};branch=z9hG4bK${callId}x${cseq};rport`,
    `From: <sip:+15550100005@${peer.address}>;tag=t${callId}`,
    `To: <sip:${user}@127.0.0.1>`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} INVITE`,
    `Contact: <sip:pbx@${peer.address}:${peer.port}>`,
    `Max-Forwards: 70`,
    ...extra,
    `Content-Length: 0`,
    ``,
    ``,
  ].join("\r\n");
}

/** Sends bytes and returns the first final response that comes back. */
async function finalFor(peer: RawPeer, bytes: string): Promise<SipResponse> {
  const before = peer.received.length;
  await peer.send(bytes);
  let final: SipResponse | undefined;
  const arrived = (): boolean => {
    for (const r of peer.received.slice(before)) {
      const parsed = parseMessage(Buffer.from(r.raw, "latin1"));
      if (parsed.ok && parsed.message.kind === "response" && parsed.message.status >= 200) {
        final = parsed.message;
        return true;
      }
    }
    return false;
  };
  await until(arrived, 3000, "a final response");
  if (final === undefined) throw new Error("unreachable");
  return final;
}

describe("refusals", () => {
  test("an unknown user from an unknown address: 407, then 403 logged as a security event", async () => {
    const peer = await udpPeer("127.0.9.9", 0, { address: "127.0.0.1", port: h.port });
    const me = { address: "127.0.9.9", port: peer.port };
    const first = await finalFor(peer, invite(me, "+15551230001", [], 1, "mallory-1"));
    assert.equal(first.status, 407);
    const challenges = first.headers.filter((x) => x.name.toLowerCase() === "proxy-authenticate").map((x) => x.value);
    assert.deepEqual(challenges.map((c) => /algorithm=([\w-]+)/.exec(c)?.[1]), ["MD5", "SHA-256"]);
    const auth = answerChallenge({ challenge: challenges[0]!, method: "INVITE", uri: `sip:+15551230001@127.0.0.1:${h.port}`, username: "mallory", password: "x" });
    const second = await finalFor(peer, invite(me, "+15551230001", [`Proxy-Authorization: ${auth}`], 2, "mallory-1"));
    assert.equal(second.status, 403);
    assert.match(getHeader(second, "Warning") ?? "", /Authentication failed/);
    await until(() => h.logLines.some((l) => l.includes('"security":true')));
    const line = h.logLines.find((l) => l.includes('"security":true'));
    assert.ok(line);
    assert.match(line, /auth-failed/);
    assert.match(line, /127\.0\.9\.9/);
    await peer.close();
  });

  test("a wrong password for acme: 403 after the challenge", async () => {
    const peer = await udpPeer("127.0.1.1", 0, { address: "127.0.0.1", port: h.port });
    const me = { address: "127.0.1.1", port: peer.port };
    const first = await finalFor(peer, invite(me, "+15551230001", [], 1, "acme-bad"));
    assert.equal(first.status, 407);
    const challenge = first.headers.find((x) => x.name.toLowerCase() === "proxy-authenticate")!.value;
    const auth = answerChallenge({ challenge, method: "INVITE", uri: `sip:+15551230001@127.0.0.1:${h.port}`, username: "acme", password: "wrong" });
    const second = await finalFor(peer, invite(me, "+15551230001", [`Proxy-Authorization: ${auth}`], 2, "acme-bad"));
    assert.equal(second.status, 403);
    const cdr = (await h.cdrs.waitClosed(1)).find((c) => c.callId === "acme-bad");
    assert.ok(cdr);
    assert.equal(cdr.disposition, "refused");
    assert.match(cdr.trace.find((t) => t.step === "authenticate")?.detail ?? "", /bad-response/);
    assert.equal(h.channels("acme"), 0);
    await peer.close();
  });

  test("globex may not call +44: 403 Destination not allowed, channel given back", async () => {
    const peer = await udpPeer("127.0.6.1", 0, { address: "127.0.0.1", port: h.port });
    const me = { address: "127.0.6.1", port: peer.port };
    const first = await finalFor(peer, invite(me, "+442071234567", [], 1, "globex-uk"));
    const challenge = first.headers.find((x) => x.name.toLowerCase() === "proxy-authenticate")!.value;
    const auth = answerChallenge({ challenge, method: "INVITE", uri: `sip:+442071234567@127.0.0.1:${h.port}`, username: "globex", password: "globex-secret" });
    const res = await finalFor(peer, invite(me, "+442071234567", [`Proxy-Authorization: ${auth}`], 2, "globex-uk"));
    assert.equal(res.status, 403);
    assert.match(getHeader(res, "Warning") ?? "", /Destination not allowed/);
    assert.match(getHeader(res, "Reason") ?? "", /Q\.850;cause=21/);
    assert.equal(h.channels("globex"), 0);
    await peer.close();
  });

  test("Session-Expires below Min-SE gets 422 with Min-SE: 90", async () => {
    const peer = await udpPeer("127.0.2.9", 0, { address: "127.0.0.1", port: h.port });
    const res = await finalFor(peer, invite({ address: "127.0.2.9", port: peer.port }, "+15550100001", ["Session-Expires: 30", "Supported: timer"]));
    assert.equal(res.status, 422);
    assert.equal(getHeader(res, "Min-SE"), "90");
    await peer.close();
  });

  test("over the channel limit: 503 with Retry-After, Warning and a Q.850 Reason", async () => {
    const peer = await udpPeer("127.0.4.9", 0, { address: "127.0.0.1", port: h.port });
    const res = await finalFor(peer, invite({ address: "127.0.4.9", port: peer.port }, "+15551230001", [], 1, "full-1"));
    assert.equal(res.status, 503);
    assert.equal(getHeader(res, "Retry-After"), "5");
    assert.match(getHeader(res, "Warning") ?? "", /Channel limit reached/);
    assert.match(getHeader(res, "Reason") ?? "", /Q\.850;cause=34/);
    const cdr = (await h.cdrs.waitClosed(1)).find((c) => c.callId === "full-1");
    assert.equal(cdr?.disposition, "refused");
    assert.equal(h.channels("loadtest"), 0);
    await peer.close();
  });

  test("no route for +33: 404 No route to destination, with the route step in the trace", async () => {
    const peer = await udpPeer("127.0.7.1", 0, { address: "127.0.0.1", port: h.port });
    const res = await finalFor(peer, invite({ address: "127.0.7.1", port: peer.port }, "+33123456789", [], 1, "noroute-1"));
    assert.equal(res.status, 404);
    assert.match(getHeader(res, "Warning") ?? "", /No route to destination/);
    const cdr = (await h.cdrs.waitClosed(1)).find((c) => c.callId === "noroute-1");
    assert.ok(cdr);
    assert.deepEqual(cdr.trace.map((t) => t.step), ["identify", "authenticate", "cps", "channels", "normalize", "destination", "caller-id", "route", "end"]);
    assert.equal(h.channels("open"), 0);
    await peer.close();
  });
});
