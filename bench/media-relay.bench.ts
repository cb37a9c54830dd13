// RTP packets per second through one relay session on loopback, beside a raw node:dgram
// forwarder with no logic at all (the best a Node process can do with the same sockets),
// measured the same way in the same run. The relay under test runs in a child process so the
// load generator does not share its event loop. Closed loop: `window` packets are kept in
// flight, so the figure is what the forwarder sustains without loss.
import { spawn } from "node:child_process";
import { type Socket, createSocket } from "node:dgram";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { createMediaRelay } from "../src/media/relay/index.ts";

const PACKETS = Number(process.env["BENCH_PACKETS"] ?? 200_000);
const WINDOW = Number(process.env["BENCH_WINDOW"] ?? 32);
const SIZE = 172; // 12-octet RTP header + 160 octets of G.711 (20 ms)
const HOST = "127.0.0.1";
const PORT_MIN = Number(process.env["BENCH_PORT_MIN"] ?? 32000);
// Rounds are interleaved and the best of each peer kept, so a burst of load from other work on
// the machine does not land on one peer only.
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 2);

type Peer = "trunkline" | "trunkline-no-quality" | "raw-dgram";

async function bind(port = 0): Promise<Socket> {
  const s = createSocket("udp4");
  s.bind(port, HOST);
  await once(s, "listening");
  s.setRecvBufferSize(1 << 20);
  s.setSendBufferSize(1 << 20);
  return s;
}

/** Child side: start one forwarder between the phone and gateway ports and print where it listens. */
async function serve(kind: Peer, phonePort: number, gatewayPort: number): Promise<void> {
  let inPort: number;
  let stop: () => Promise<void>;
  if (kind === "raw-dgram") {
    const a = await bind();
    const b = await bind();
    a.on("message", (msg) => b.send(msg, gatewayPort, HOST));
    b.on("message", (msg) => a.send(msg, phonePort, HOST));
    inPort = a.address().port;
    stop = async () => {
      a.close();
      b.close();
    };
  } else {
    const relay = createMediaRelay({
      address: HOST,
      portMin: PORT_MIN,
      portMax: PORT_MIN + 99,
      socketBufferBytes: 1 << 20,
      quality: kind === "trunkline",
    });
    const call = relay.createSession();
    const stream = await call.addStream();
    stream.setRemote("a", { address: HOST, port: phonePort });
    stream.setRemote("b", { address: HOST, port: gatewayPort });
    inPort = stream.leg("a").local.rtpPort;
    stop = () => relay.close();
  }
  console.log(JSON.stringify({ inPort }));
  // The parent closes stdin when done; it is the only stop signal needed.
  process.stdin.resume();
  await once(process.stdin, "end");
  await stop();
}

/** Parent side: drive PACKETS through a forwarder and return packets per second. */
async function measure(kind: Peer): Promise<number> {
  const phone = await bind();
  const gateway = await bind();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", import.meta.filename, "--serve", kind, String(phone.address().port), String(gateway.address().port)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  try {
    const lines = createInterface({ input: child.stdout });
    const [first] = (await once(lines, "line")) as [string];
    const { inPort } = JSON.parse(first) as { inPort: number };
    const packet = Buffer.alloc(SIZE, 0xd5);
    packet[0] = 0x80;
    packet[1] = 0;
    packet.writeUInt32BE(0x5eed5eed, 8);
    let sent = 0;
    let received = 0;
    let lost = 0;
    const sendOne = (): void => {
      packet.writeUInt16BE(sent & 0xffff, 2);
      packet.writeUInt32BE((sent * 160) >>> 0, 4);
      sent++;
      phone.send(packet, inPort, HOST);
    };
    // Warm-up, so the JIT has compiled the forwarding path before the clock starts.
    const warm = Math.min(5000, PACKETS / 10);
    const run = (count: number): Promise<number> =>
      new Promise((resolve) => {
        sent = received = 0;
        let lastProgress = received;
        const started = performance.now();
        const onMessage = (): void => {
          received++;
          if (received + lost >= count) {
            clearInterval(watchdog);
            gateway.off("message", onMessage);
            resolve(performance.now() - started);
          } else if (sent < count) sendOne();
        };
        // A lost datagram would shrink the window for good: refill when progress stalls.
        const watchdog = setInterval(() => {
          if (received === lastProgress) {
            const inFlight = sent - received - lost;
            lost += inFlight;
            for (let i = 0; i < inFlight && sent < count; i++) sendOne();
            if (received + lost >= count) {
              clearInterval(watchdog);
              gateway.off("message", onMessage);
              resolve(performance.now() - started);
            }
          }
          lastProgress = received;
        }, 200);
        gateway.on("message", onMessage);
        for (let i = 0; i < WINDOW && sent < count; i++) sendOne();
      });
    await run(warm);
    lost = 0;
    const ms = await run(PACKETS);
    const rate = (received / ms) * 1000;
    console.log(`${kind.padEnd(22)} ${received} relayed, ${lost} lost in ${(ms / 1000).toFixed(2)} s: ${Math.round(rate)} packets/s`);
    return rate;
  } finally {
    child.stdin.end();
    await once(child, "exit");
    phone.close();
    gateway.close();
  }
}

async function main(): Promise<void> {
  console.log(`media relay: ${PACKETS} RTP packets of ${SIZE} octets, window ${WINDOW}, one session, ${HOST}, best of ${ROUNDS}`);
  const peers: Peer[] = ["raw-dgram", "trunkline", "trunkline-no-quality"];
  const best = new Map<Peer, number>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const peer of peers) best.set(peer, Math.max(best.get(peer) ?? 0, await measure(peer)));
  }
  const raw = best.get("raw-dgram")!;
  for (const peer of peers) console.log(`best ${peer.padEnd(22)} ${Math.round(best.get(peer)!)} packets/s`);
  console.log(`ratio trunkline / raw-dgram: ${(best.get("trunkline")! / raw).toFixed(2)}`);
  console.log(`ratio trunkline (quality off) / raw-dgram: ${(best.get("trunkline-no-quality")! / raw).toFixed(2)}`);
  console.log("rtpengine is not installed here (no Debian package on this machine), so it is not compared.");
}

const serveAt = process.argv.indexOf("--serve");
if (serveAt >= 0) {
  await serve(process.argv[serveAt + 1] as Peer, Number(process.argv[serveAt + 2]), Number(process.argv[serveAt + 3]));
} else {
  await main();
}
