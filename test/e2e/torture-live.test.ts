// Every RFC 4475 / RFC 5118 torture message sent byte-exact to a running Trunkline over a live
// UDP socket and a live TCP connection, judged by test/fixtures/sip-torture/expected.json, each
// followed by a liveness probe (a valid OPTIONS that must get 200).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseMessage } from "../../src/sip/index.ts";
import { startTestServer, type TestServer } from "../support/trunkline.ts";
import { optionsProbe, tcpPeer, udpPeer, type RawPeer, type Received } from "../support/raw-sip.ts";

type Verdict = "accept" | "reject" | "either" | "drop" | "skip";
interface Case {
  file: string;
  source: string;
  kind: string;
  udp: Verdict;
  tcp: Verdict;
  codes: number[];
}

const fixtures = resolve(import.meta.dirname, "..", "fixtures", "sip-torture");
const cases = JSON.parse(readFileSync(join(fixtures, "expected.json"), "utf8")) as Case[];

/** The top Via port and Call-ID the message declares, read leniently (it may be invalid). */
function declared(bytes: Buffer): { viaPort: number; callId: string | null } {
  const parsed = parseMessage(bytes);
  if (parsed.ok) return { viaPort: parsed.message.via[0]?.port ?? 5060, callId: parsed.message.callId };
  const text = bytes.toString("latin1");
  const via = /^(?:Via|v)\s*:\s*SIP\s*\/\s*2\.0\s*\/\s*UDP\s+(\[[^\]]+\]|[^\s;:,]+)(?:\s*:\s*(\d+))?/im.exec(text);
  const cid = /^(?:Call-ID|i)\s*:\s*(\S+)/im.exec(text);
  return { viaPort: via?.[2] !== undefined ? Number(via[2]) : 5060, callId: cid?.[1] ?? null };
}

function statusOf(r: Received): number | "garbage" {
  return r.status ?? "garbage";
}

/** Judges what came back for one message: returns a failure text or null. */
function judge(c: Case, verdict: Verdict, replies: Received[], transport: string): string | null {
  const codes = replies.map(statusOf);
  const finals = codes.filter((s) => s === "garbage" || s >= 200);
  switch (verdict) {
    case "accept":
      if (codes.length === 0) return `${c.file}/${transport}: accept expected a response, got silence`;
      if (codes.includes(400) || codes.includes("garbage")) return `${c.file}/${transport}: accept got ${codes.join(",")}`;
      if (c.file === "dblreq.dat" && transport === "UDP" && replies.some((r) => r.cseqMethod === "INVITE")) {
        return `dblreq.dat/UDP: the trailing INVITE bytes were answered`;
      }
      return null;
    case "reject": {
      const allowed = c.codes.length > 0 ? c.codes : [400];
      const bad = finals.filter((s) => s === "garbage" || !allowed.includes(s));
      return bad.length > 0 ? `${c.file}/${transport}: reject expected ${allowed.join("/")} or silence, got ${codes.join(",")}` : null;
    }
    case "drop":
      return codes.length > 0 ? `${c.file}/${transport}: must not be answered, got ${codes.join(",")}` : null;
    case "either":
    case "skip":
      return null;
  }
}

/** Sends one message over UDP from the port its Via names and returns what came back. */
async function sendUdp(server: TestServer, c: Case, bytes: Buffer, verdict: Verdict): Promise<Received[]> {
  const { viaPort, callId } = declared(bytes);
  // Bind where the Via says, so responses routed by Via (received + sent-by port) reach us.
  const peer = await udpPeer("127.0.0.1", viaPort, server.udp).catch(() => udpPeer("127.0.0.1", 0, server.udp));
  try {
    await peer.send(bytes);
    await peer.waitFor(1, verdict === "accept" ? 1500 : 250);
    await sleep(50);
    return peer.received.filter((r) => callId === null || r.callId === null || r.callId === callId);
  } finally {
    await peer.close();
  }
}

/** Sends one message on a fresh TCP connection and returns what came back on it. */
async function sendTcp(server: TestServer, c: Case, bytes: Buffer, verdict: Verdict): Promise<Received[]> {
  const peer = await tcpPeer(server.tcp);
  try {
    await peer.send(bytes);
    await peer.waitFor(c.file === "dblreq.dat" ? 2 : 1, verdict === "accept" ? 1500 : 250);
    await sleep(50);
    return [...peer.received];
  } finally {
    await peer.close();
  }
}

/** A valid OPTIONS over the given transport must get 200: the server is still alive. */
async function probe(server: TestServer, transport: "UDP" | "TCP", n: number): Promise<boolean> {
  const peer: RawPeer = transport === "UDP" ? await udpPeer("127.0.0.1", 0, server.udp) : await tcpPeer(server.tcp);
  try {
    await peer.send(optionsProbe(transport, { address: "127.0.0.1", port: peer.port }, transport === "UDP" ? server.udp : server.tcp, n));
    await peer.waitFor(1, 2000);
    return peer.received.some((r) => r.status === 200 && r.callId?.startsWith("probe-") === true);
  } finally {
    await peer.close();
  }
}

// Each message goes to a fresh server: several RFC 4475 messages share a branch, sent-by and
// method, which RFC 3261 17.2.3 rightly treats as retransmissions of one transaction.
for (const transport of ["UDP", "TCP"] as const) {
  describe(`RFC 4475 / RFC 5118 torture messages over live ${transport}`, () => {
    test("each message gets the answer its class requires, then a liveness probe is answered", async () => {
      const failures: string[] = [];
      let n = 0;
      for (const c of cases) {
        const verdict = transport === "UDP" ? c.udp : c.tcp;
        if (verdict === "skip") continue;
        const bytes = readFileSync(join(fixtures, c.file));
        const server = await startTestServer({ protocols: ["udp", "tcp"] });
        try {
          const replies = transport === "UDP" ? await sendUdp(server, c, bytes, verdict) : await sendTcp(server, c, bytes, verdict);
          const fail = judge(c, verdict, replies, transport);
          if (fail !== null) failures.push(fail);
          if (!(await probe(server, transport, n++))) failures.push(`${c.file}/${transport}: liveness probe not answered 200`);
        } finally {
          await server.stop();
        }
      }
      assert.deepEqual(failures, []);
    });

    test("one server takes the whole corpus in sequence and still answers", async () => {
      const server = await startTestServer({ protocols: ["udp", "tcp"] });
      try {
        for (const c of cases) {
          const verdict = transport === "UDP" ? c.udp : c.tcp;
          if (verdict === "skip") continue;
          const bytes = readFileSync(join(fixtures, c.file));
          if (transport === "UDP") await sendUdp(server, c, bytes, "drop");
          else await sendTcp(server, c, bytes, "drop");
        }
        assert.ok(await probe(server, transport, 9999), "probe after the whole corpus");
      } finally {
        await server.stop();
      }
    });
  });
}
