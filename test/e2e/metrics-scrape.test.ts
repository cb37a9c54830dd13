// /metrics of a running server, scraped over HTTP after a SIPp call whose RTP crosses the relay:
// the exposition parses line by line (HELP and TYPE before every family, well-formed labels,
// histograms with ascending cumulative buckets ending at +Inf = _count), the call is counted by
// direction and result, and the media histograms hold what the call's CDR says about each leg.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallDetailRecord } from "../../src/ports/index.ts";
import { freePort } from "../support/ports.ts";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { stopAll } from "../support/processes.ts";
import { startTestServer } from "../support/trunkline.ts";
import { until } from "../support/until.ts";

const skip = haveSipp() ? false : "sipp is not installed";
const dir = mkdtempSync(join(tmpdir(), "trunkline-metrics-"));
const sockets: Socket[] = [];

after(async () => {
  await stopAll();
  for (const s of sockets.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One sample line of the exposition. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family: its HELP, TYPE and samples (for a histogram, its _bucket/_sum/_count lines). */
interface Family {
  help: string | undefined;
  type: string | undefined;
  readonly samples: Sample[];
}

/**
 * Parses the Prometheus text format 0.0.4 strictly enough to catch our mistakes: every sample
 * belongs to a family whose HELP and TYPE came first, label values are quoted with \\, \" and \n
 * escapes only, values are numbers or +Inf/-Inf/NaN. Throws on the first bad line.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { help: undefined, type: undefined, samples: [] }));
    return f;
  };
  const lines = text.split("\n");
  assert.equal(lines.pop(), "", "the exposition ends with a newline");
  for (const line of lines) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      const f = family(meta[2] ?? "");
      if (meta[1] === "HELP") f.help = meta[3];
      else {
        assert.ok(["counter", "gauge", "histogram", "summary", "untyped"].includes(meta[3] ?? ""), `bad TYPE: ${line}`);
        assert.equal(f.samples.length, 0, `TYPE after samples: ${line}`);
        f.type = meta[3];
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `not a sample line: ${JSON.stringify(line)}`);
    const name = m[1] ?? "";
    const labels: Record<string, string> = {};
    let rest = m[3] ?? "";
    while (rest.length > 0) {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
      assert.ok(l !== null, `bad labels in ${line}`);
      labels[l[1] ?? ""] = (l[2] ?? "").replace(/\\(["\\n])/g, (_all, c: string) => (c === "n" ? "\n" : c));
      rest = rest.slice(l[0].length);
    }
    const raw = m[4] ?? "";
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : raw === "NaN" ? NaN : Number(raw);
    assert.ok(!Number.isNaN(value) || raw === "NaN", `bad value in ${line}`);
    // A histogram's samples carry suffixes of its family name.
    const base = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    const f = families.get(base);
    assert.ok(f !== undefined && f.type !== undefined && f.help !== undefined, `sample before its HELP and TYPE: ${line}`);
    if (f.type === "histogram") assert.notEqual(base, name, `histogram sample without _bucket/_sum/_count: ${line}`);
    f.samples.push({ name, labels, value });
  }
  return families;
}

/** Checks every histogram: per label set, le ascending, counts cumulative, +Inf last and equal to _count. */
function checkHistograms(families: Map<string, Family>): void {
  for (const [name, f] of families) {
    if (f.type !== "histogram") continue;
    const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      let e = series.get(key);
      if (e === undefined) series.set(key, (e = { buckets: [] }));
      if (s.name === `${name}_bucket`) {
        assert.ok(le !== undefined, `${name}: bucket without le`);
        e.buckets.push([le === "+Inf" ? Infinity : Number(le), s.value]);
      } else if (s.name === `${name}_sum`) e.sum = s.value;
      else if (s.name === `${name}_count`) e.count = s.value;
    }
    for (const [key, e] of series) {
      assert.ok(e.buckets.length >= 2 && e.sum !== undefined && e.count !== undefined, `${name}${key}: incomplete`);
      for (let i = 1; i < e.buckets.length; i++) {
        const [le0, c0] = e.buckets[i - 1] ?? [0, 0];
        const [le1, c1] = e.buckets[i] ?? [0, 0];
        assert.ok(le1 > le0, `${name}${key}: le not ascending`);
        assert.ok(c1 >= c0, `${name}${key}: counts not cumulative`);
      }
      assert.equal(e.buckets.at(-1)?.[0], Infinity, `${name}${key}: last bucket is not +Inf`);
      assert.equal(e.buckets.at(-1)?.[1], e.count, `${name}${key}: +Inf bucket differs from _count`);
    }
  }
}

function sample(families: Map<string, Family>, name: string, labels: Record<string, string>): number | undefined {
  const base = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
  const wanted = Object.entries(labels);
  return families.get(base)?.samples.find((s) => s.name === name && wanted.every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === wanted.length)?.value;
}

async function bind(address: string): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  sockets.push(socket);
  return { socket, port: socket.address().port };
}

async function waitForFile(path: string, ms: number): Promise<string> {
  await until(() => existsSync(path), ms, `${path} to be written`);
  return readFileSync(path, "utf8").trim();
}

/** Sends `count` PCMU packets of 20 ms to the relay, leaving out the sequence numbers in `skip` (lost). */
async function sendRtp(socket: Socket, port: number, count: number, ssrc: number, skip: ReadonlySet<number>): Promise<void> {
  for (let seq = 1; seq <= count; seq++) {
    if (!skip.has(seq)) {
      const b = Buffer.alloc(12 + 160, 0xff);
      b[0] = 0x80;
      b[1] = 0;
      b.writeUInt16BE(seq, 2);
      b.writeUInt32BE(seq * 160, 4);
      b.writeUInt32BE(ssrc, 8);
      socket.send(b, port, "127.0.0.1");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("/metrics after a relayed SIPp call: valid exposition, the call by direction and result, its media in histograms", { skip, timeout: 60_000 }, async () => {
  const gwPort = await freePort("127.0.26.1");
  const server = await startTestServer({
    protocols: ["udp"],
    http: true,
    extraYaml: `
health:
  enabled: false
media:
  enabled: true
  address: 127.0.0.1
  portMin: 43200
  portMax: 43399
provisioning:
  customers:
    - name: pbx
      mode: static
      uri: sip:127.0.25.1:5060
      sourceAddresses: ["127.0.25.0/24"]
      channels: 10
  carriers:
    - name: alpha
      gateways: ["sip:127.0.26.1:${gwPort}"]
      sourceAddresses: ["127.0.26.0/24"]
      channels: 30
  routes:
    - { prefix: "+1", carriers: [alpha] }
`,
  });
  const base = `http://127.0.0.1:${server.http?.port}`;
  try {
    const pbxMedia = await bind("127.0.25.1");
    const gwMedia = await bind("127.0.26.1");
    const aFile = join(dir, "relay-a.port");
    const bFile = join(dir, "relay-b.port");
    const common = { timeoutSec: 20, calls: 1, service: "+15551230001", defaultBehaviors: "all,-bye" } as const;
    const gw = runSipp({ ...common, scenario: "metrics-media-uas.xml", localAddress: "127.0.26.1", localPort: gwPort, keys: { rtp: String(gwMedia.port), portfile: bFile } });
    const pbx = runSipp({
      ...common,
      scenario: "metrics-media-uac.xml",
      remote: `127.0.0.1:${server.udp.port}`,
      localAddress: "127.0.25.1",
      localPort: 0,
      keys: { rtp: String(pbxMedia.port), caller: "+15550100005", portfile: aFile },
      callDurationMs: 3500,
    });
    const ports = await Promise.all([waitForFile(aFile, 10_000), waitForFile(bFile, 10_000)]).catch(async (e: unknown) => {
      await Promise.all([pbx.stop(), gw.stop()]);
      throw new Error(`${String(e)}\nPBX: ${pbx.process.output().slice(-1500)}\ngateway: ${gw.process.output().slice(-1500)}`);
    });
    const [aPort, bPort] = ports.map(Number) as [number, number];
    assert.ok(aPort >= 43200 && aPort <= 43399 && bPort >= 43200 && bPort <= 43399, `relay ports ${aPort}, ${bPort}`);
    // 100 packets each way; the PBX's packets 30 and 60 never leave (2 % loss on leg a).
    await Promise.all([sendRtp(pbxMedia.socket, aPort, 100, 0x1111, new Set([30, 60])), sendRtp(gwMedia.socket, bPort, 100, 0x2222, new Set())]);
    const [a, b] = await Promise.all([pbx.done(), gw.done()]);
    assert.equal(a.stats.successful, 1, a.output.slice(-2000));
    assert.equal(b.stats.successful, 1, b.output.slice(-2000));

    // The CDR is written (and counted) right after the BYE is answered.
    let cdr: CallDetailRecord | undefined;
    for (let i = 0; i < 100 && cdr?.endedAt == null; i++) {
      const list = (await (await fetch(`${base}/api/v1/cdrs`)).json()) as { items: { id: string }[] };
      const id = list.items[0]?.id;
      if (id !== undefined) cdr = (await (await fetch(`${base}/api/v1/cdrs/${id}`)).json()) as CallDetailRecord;
      if (cdr?.endedAt == null) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(cdr?.media, `the CDR has media quality: ${JSON.stringify(cdr)}`);

    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const families = parseExposition(text);
    checkHistograms(families);

    // Every family the issue lists is there.
    for (const name of [
      "trunkline_calls_total",
      "trunkline_calls_active",
      "trunkline_channels_in_use",
      "trunkline_sip_requests_received_total",
      "trunkline_sip_responses_sent_total",
      "trunkline_sip_wire_requests_total",
      "trunkline_sip_wire_responses_total",
      "trunkline_sip_transaction_timeouts_total",
      "trunkline_gateway_up",
      "trunkline_carrier_registered",
      "trunkline_media_packets_total",
      "trunkline_media_stream_packets",
      "trunkline_media_loss_ratio",
      "trunkline_media_jitter_seconds",
      "trunkline_media_mos",
      "trunkline_event_loop_lag_seconds",
      "trunkline_security_screened_total",
      "trunkline_security_bans_active",
      "trunkline_security_auth_failures_total",
      "trunkline_fraud_verdicts_total",
    ]) {
      assert.ok(families.has(name), `no ${name} in\n${text}`);
    }
    assert.equal(families.get("trunkline_media_mos")?.type, "histogram");
    assert.equal(sample(families, "trunkline_calls_total", { direction: "outbound", result: "answered" }), 1);
    assert.equal(sample(families, "trunkline_calls_active", {}), 0);
    assert.ok((sample(families, "trunkline_sip_requests_received_total", { method: "INVITE" }) ?? 0) >= 1);
    assert.ok((sample(families, "trunkline_sip_requests_received_total", { method: "BYE" }) ?? 0) >= 1);
    // On the wire: the INVITE in from the PBX and out to the gateway, the gateway's 200 in and ours out to the PBX.
    assert.ok((sample(families, "trunkline_sip_wire_requests_total", { direction: "in", method: "INVITE" }) ?? 0) >= 1);
    assert.ok((sample(families, "trunkline_sip_wire_requests_total", { direction: "out", method: "INVITE" }) ?? 0) >= 1);
    assert.ok((sample(families, "trunkline_sip_wire_responses_total", { direction: "in", code: "200", method: "INVITE" }) ?? 0) >= 1);
    assert.ok((sample(families, "trunkline_sip_wire_responses_total", { direction: "out", code: "200", method: "INVITE" }) ?? 0) >= 1);

    // The media series say what the CDR says, leg by leg and direction by direction.
    const media = cdr.media;
    for (const leg of ["a", "b"] as const) {
      for (const direction of ["received", "sent"] as const) {
        const q = media[leg][direction];
        const labels = { leg, direction };
        assert.equal(sample(families, "trunkline_media_packets_total", labels), q.packets, `${leg} ${direction} packets`);
        assert.equal(sample(families, "trunkline_media_stream_packets_count", labels), 1);
        assert.equal(sample(families, "trunkline_media_mos_count", labels) ?? 0, q.mos === undefined ? 0 : 1, `${leg} ${direction} MOS`);
        if (q.mos !== undefined) assert.ok(Math.abs((sample(families, "trunkline_media_mos_sum", labels) ?? 0) - q.mos) < 1e-9);
        if (q.jitterMs !== undefined) assert.ok(Math.abs((sample(families, "trunkline_media_jitter_seconds_sum", labels) ?? 0) - q.jitterMs / 1000) < 1e-9);
      }
    }
    // Leg a received about 98 of 100 packets and lost 2.
    assert.ok(media.a.received.packets >= 90, JSON.stringify(media));
    assert.equal(media.a.received.lost, 2, JSON.stringify(media));
    const lossSum = sample(families, "trunkline_media_loss_ratio_sum", { leg: "a", direction: "received" }) ?? 0;
    assert.ok(Math.abs(lossSum - 2 / (media.a.received.packets + 2)) < 1e-9, `loss ratio ${lossSum}`);
    assert.equal(sample(families, "trunkline_media_loss_ratio_bucket", { leg: "a", direction: "received", le: "0.01" }), 0);
    assert.equal(sample(families, "trunkline_media_loss_ratio_bucket", { leg: "a", direction: "received", le: "0.02" }), 1);
  } finally {
    await server.stop();
  }
});
