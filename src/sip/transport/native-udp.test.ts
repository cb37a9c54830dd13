import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { createTransport } from "./create-transport.ts";
import { nativeUdpError } from "./native-udp.ts";
import { TransportError, type Endpoint } from "./types.ts";
import { bindUdpListener, selectUdpIo, type UdpListener } from "./udp-transport.ts";

// The test command installs a compiler, so a missing addon is a broken build, not a reason to skip;
// TRUNKLINE_SKIP_NATIVE=1 (the install's own opt-out) is the one way to run without it.
const optedOut = process.env["TRUNKLINE_SKIP_NATIVE"] === "1";
const skip = optedOut ? "TRUNKLINE_SKIP_NATIVE=1" : false;

it("the native SIP UDP addon was built at install (scripts/build-native.mjs)", { skip }, () => {
  assert.equal(nativeUdpError(), undefined, "native/sip-io did not build or load: run `node scripts/build-native.mjs` to see why");
});

interface Received {
  readonly data: Buffer;
  readonly remote: Endpoint;
}

/** A native listener whose datagrams and send-failure reports are collected. */
async function nativeListener(address: string): Promise<{ listener: UdpListener; inbox: Received[]; errors: TransportError[] }> {
  const inbox: Received[] = [];
  const errors: TransportError[] = [];
  const listener = await bindUdpListener("native", address, 0, (data, remote) => inbox.push({ data, remote }), (e) => errors.push(e));
  return { listener, inbox, errors };
}

/** A node:dgram peer with a buffer large enough to hold a burst. */
async function peer(type: "udp4" | "udp6", address: string): Promise<{ socket: Socket; port: number; inbox: Received[] }> {
  const socket = createSocket({ type, ipv6Only: type === "udp6" });
  const inbox: Received[] = [];
  socket.on("message", (data, r) => inbox.push({ data, remote: { address: r.address, port: r.port } }));
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  socket.setRecvBufferSize(4 * 1024 * 1024);
  return { socket, port: socket.address().port, inbox };
}

async function until(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function closeSocket(s: Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

describe("native SIP UDP listener", { skip }, () => {
  for (const [address, type] of [
    ["127.0.0.1", "udp4"],
    ["::1", "udp6"],
  ] as const) {
    it(`${address}: sends and receives both ways`, async () => {
      const n = await nativeListener(address);
      const p = await peer(type, address);
      try {
        assert.equal(n.listener.local.address, address);
        p.socket.send(Buffer.from("OPTIONS in"), n.listener.local.port, address);
        await until("the datagram in", () => n.inbox.length === 1);
        assert.equal(n.inbox[0]!.data.toString(), "OPTIONS in");
        assert.deepEqual(n.inbox[0]!.remote, { address, port: p.port });
        await n.listener.send(Buffer.from("200 out"), { address, port: p.port });
        await until("the datagram out", () => p.inbox.length === 1);
        assert.equal(p.inbox[0]!.data.toString(), "200 out");
        assert.equal(p.inbox[0]!.remote.port, n.listener.local.port);
      } finally {
        await n.listener.close();
        await closeSocket(p.socket);
      }
    });
  }

  it("a dual-stack listener on :: reports IPv4 peers as plain IPv4 and sends to them", async () => {
    const n = await nativeListener("::");
    const v4 = await peer("udp4", "127.0.0.1");
    const v6 = await peer("udp6", "::1");
    try {
      assert.equal(n.listener.local.address, "::");
      v4.socket.send(Buffer.from("from v4"), n.listener.local.port, "127.0.0.1");
      v6.socket.send(Buffer.from("from v6"), n.listener.local.port, "::1");
      await until("both datagrams", () => n.inbox.length === 2);
      const byText = new Map(n.inbox.map((r) => [r.data.toString(), r.remote]));
      assert.deepEqual(byText.get("from v4"), { address: "127.0.0.1", port: v4.port });
      assert.deepEqual(byText.get("from v6"), { address: "::1", port: v6.port });
      await n.listener.send(Buffer.from("to v4"), { address: "127.0.0.1", port: v4.port });
      await n.listener.send(Buffer.from("to v6"), { address: "::1", port: v6.port });
      await until("both replies", () => v4.inbox.length === 1 && v6.inbox.length === 1);
      assert.equal(v4.inbox[0]!.data.toString(), "to v4");
      assert.equal(v6.inbox[0]!.data.toString(), "to v6");
    } finally {
      await n.listener.close();
      await Promise.all([closeSocket(v4.socket), closeSocket(v6.socket)]);
    }
  });

  it("rejects a bad destination at once with ERR_TRANSPORT_SEND, and a closed listener with ERR_TRANSPORT_CLOSED", async () => {
    const n = await nativeListener("127.0.0.1");
    const v6 = await nativeListener("::1");
    try {
      const data = Buffer.from("x");
      for (const remote of [
        { address: "not-an-address", port: 5060 },
        { address: "127.0.0.1", port: 0 },
        { address: "127.0.0.1", port: 70000 },
        { address: "127.0.0.1", port: 5060.5 },
        { address: "::1", port: 5060 },
      ]) {
        await assert.rejects(n.listener.send(data, remote), { code: "ERR_TRANSPORT_SEND" }, JSON.stringify(remote));
      }
      // An IPv6-only listener cannot reach an IPv4 peer.
      await assert.rejects(v6.listener.send(data, { address: "127.0.0.1", port: 5060 }), { code: "ERR_TRANSPORT_SEND" });
      await n.listener.close();
      await assert.rejects(n.listener.send(data, { address: "127.0.0.1", port: 5060 }), { code: "ERR_TRANSPORT_CLOSED" });
      assert.deepEqual(n.errors, []);
    } finally {
      await n.listener.close();
      await v6.listener.close();
    }
  });

  it("binding a port in use fails with ERR_TRANSPORT_BIND", async () => {
    const n = await nativeListener("127.0.0.1");
    try {
      await assert.rejects(bindUdpListener("native", "127.0.0.1", n.listener.local.port, () => {}, () => {}), { code: "ERR_TRANSPORT_BIND" });
    } finally {
      await n.listener.close();
    }
  });

  it("keeps the order of many sends", async () => {
    const n = await nativeListener("127.0.0.1");
    const p = await peer("udp4", "127.0.0.1");
    const count = 2000;
    try {
      for (let i = 0; i < count; i++) void n.listener.send(Buffer.from(String(i)), { address: "127.0.0.1", port: p.port });
      await until(`${count} datagrams`, () => p.inbox.length === count);
      assert.deepEqual(
        p.inbox.map((r) => Number(r.data.toString())),
        Array.from({ length: count }, (_, i) => i),
      );
    } finally {
      await n.listener.close();
      await closeSocket(p.socket);
    }
  });

  it("close sends what is still queued before it returns", async () => {
    const p = await peer("udp4", "127.0.0.1");
    const count = 500;
    try {
      const n = await nativeListener("127.0.0.1");
      const sends: Promise<void>[] = [];
      for (let i = 0; i < count; i++) sends.push(n.listener.send(Buffer.from(String(i)), { address: "127.0.0.1", port: p.port }));
      await n.listener.close();
      await Promise.all(sends);
      await until(`${count} datagrams`, () => p.inbox.length === count);
      assert.equal(p.inbox.at(-1)!.data.toString(), String(count - 1));
    } finally {
      await closeSocket(p.socket);
    }
  });

  it("counts datagrams the kernel refuses in the sender thread and reports them, sending the rest", async () => {
    const n = await nativeListener("0.0.0.0");
    const p = await peer("udp4", "127.0.0.1");
    try {
      // Broadcast without SO_BROADCAST passes the address check but the kernel refuses it (EACCES).
      for (let i = 0; i < 3; i++) await n.listener.send(Buffer.from("refused"), { address: "255.255.255.255", port: 5060 });
      await n.listener.send(Buffer.from("after"), { address: "127.0.0.1", port: p.port });
      await until("the failure report", () => n.errors.reduce((sum, e) => sum + Number(/^(\d+) /.exec(e.message)?.[1]), 0) === 3);
      for (const e of n.errors) {
        assert.equal(e.code, "ERR_TRANSPORT_SEND");
        assert.equal((e.cause as NodeJS.ErrnoException).code, "EACCES");
      }
      await until("the datagram after the failures", () => p.inbox.length === 1);
      assert.equal(p.inbox[0]!.data.toString(), "after");
    } finally {
      await n.listener.close();
      await closeSocket(p.socket);
    }
  });

  it("reports failures still unreported when the listener closes", async () => {
    const n = await nativeListener("0.0.0.0");
    for (let i = 0; i < 5; i++) void n.listener.send(Buffer.from("refused"), { address: "255.255.255.255", port: 5060 });
    await n.listener.close();
    // Whatever the async report had not delivered yet was delivered by close; nothing is lost.
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(
      n.errors.reduce((sum, e) => sum + Number(/^(\d+) /.exec(e.message)?.[1]), 0),
      5,
    );
  });

  it("a worker thread that ends with sockets open and sends queued tears down cleanly", async () => {
    const addonPath = new URL("../../../native/sip-io/build/Release/sip_io.node", import.meta.url).pathname;
    const source = `
      const { parentPort, workerData } = require("node:worker_threads");
      const addon = require(workerData.addonPath);
      const ids = [addon.bind("127.0.0.1", 0, 1 << 20, () => {}, () => {}), addon.bind("::", 0, 1 << 20, () => {}, () => {})];
      const [, port] = addon.localAddress(ids[0]);
      for (let i = 0; i < 1000; i++) addon.send(ids[1], Buffer.alloc(200), port, "127.0.0.1");
      parentPort.postMessage(ids.every((id) => id > 0));
    `;
    const worker = new Worker(source, { eval: true, workerData: { addonPath } });
    const bound = await new Promise<unknown>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    assert.equal(bound, true);
    assert.equal(await worker.terminate(), 1);
  });

  it("createTransport picks native I/O by default and node:dgram when asked", async () => {
    assert.deepEqual(selectUdpIo("auto"), { kind: "native" });
    assert.equal(selectUdpIo("dgram").kind, "dgram");
    for (const [udpIo, kind] of [
      [undefined, "native"],
      ["native", "native"],
      ["dgram", "dgram"],
    ] as const) {
      const t = await createTransport({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }], onError: () => {}, ...(udpIo === undefined ? {} : { udpIo }) });
      try {
        assert.equal(t.udpIo?.kind, kind);
      } finally {
        await t.close();
      }
    }
  });
});
