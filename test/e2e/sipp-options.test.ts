// Interop with SIPp: OPTIONS at 1000 per second for 10 seconds over UDP and over TCP, all
// answered 200; an INVITE to an unknown number gets a final response and its ACK is absorbed;
// garbage datagrams sent in between do not stop the server.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { haveSipp, runSipp } from "../support/sipp.ts";
import { startTestServer, type TestServer } from "../support/trunkline.ts";
import { stopAll } from "../support/processes.ts";

const skip = haveSipp() ? false : "sipp is not installed (scripts/test.sh installs it)";
let server: TestServer;

before(async () => {
  // A customer known by its address with no route anywhere: an INVITE from it to any number is
  // refused with 404 (no route), the final answer the interop test expects.
  server = await startTestServer({
    protocols: ["udp", "tcp"],
    extraYaml: [
      "health: { enabled: false }",
      // A load test of the stack, not of the flood defence (test/e2e/security-attacks.test.ts):
      // 1000 OPTIONS/s from one address would otherwise be banned within a second.
      "security: { trustedNetworks: ['127.0.0.1/32'] }",
      "provisioning:",
      "  customers:",
      "    - { name: local, mode: static, uri: 'sip:127.0.0.1:9', sourceAddresses: ['127.0.0.1/32'] }",
    ].join("\n"),
  });
});

after(async () => {
  await stopAll();
  await server?.stop();
});

/** Sends `count` datagrams of random bytes and half-SIP junk to the server from a throwaway socket. */
async function sprayGarbage(target: { address: string; port: number }, count: number): Promise<void> {
  const sock = createSocket("udp4");
  const junk = [
    () => randomBytes(1 + Math.floor(Math.random() * 1400)),
    () => Buffer.from("INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKj\r\nContent-Length: -5\r\n\r\n"),
    () => Buffer.from("\r\n\r\n"),
    () => Buffer.from("SIP/2.0 200 OK\r\n\r\n"),
    () => Buffer.from("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKk\r\nCSeq: 99999999999 OPTIONS\r\n\r\n"),
  ];
  for (let i = 0; i < count; i++) {
    const make = junk[i % junk.length]!;
    await new Promise<void>((res) => sock.send(make(), target.port, target.address, () => res()));
  }
  await new Promise<void>((res) => sock.close(() => res()));
}

describe("SIPp interop", { skip }, () => {
  for (const transport of ["u1", "t1"] as const) {
    const name = transport === "u1" ? "UDP" : "TCP";
    test(`OPTIONS at 1000/s for 10 s over ${name} are all answered 200, with garbage sprayed meanwhile`, async () => {
      const droppedBefore = [...server.stack().counters.dropped.values()].reduce((a, b) => a + b, 0);
      const run = runSipp({
        scenario: "options-uac.xml",
        remote: `127.0.0.1:${name === "UDP" ? server.udp.port : server.tcp.port}`,
        localAddress: "127.0.0.1",
        transport,
        calls: 10_000,
        rate: 1000,
        limit: 2000,
        timeoutSec: 40,
        service: "ping",
      });
      await sprayGarbage(server.udp, 500);
      const { code, stats, output } = await run.done();
      assert.equal(stats.failed, 0, output.slice(-2000));
      assert.equal(stats.successful, 10_000, output.slice(-2000));
      assert.equal(code, 0);
      const droppedAfter = [...server.stack().counters.dropped.values()].reduce((a, b) => a + b, 0);
      assert.ok(droppedAfter - droppedBefore >= 400, `garbage was counted as dropped (${droppedAfter - droppedBefore})`);
    });
  }

  for (const transport of ["u1", "t1"] as const) {
    const name = transport === "u1" ? "UDP" : "TCP";
    test(`INVITE to an unknown number gets 404 over ${name} and the ACK is absorbed (no 404 retransmission)`, async () => {
      const run = runSipp({
        scenario: "invite-unknown.xml",
        remote: `127.0.0.1:${name === "UDP" ? server.udp.port : server.tcp.port}`,
        localAddress: "127.0.0.1",
        transport,
        calls: 5,
        rate: 10,
        timeoutSec: 20,
        service: "15559999999",
      });
      const { code, stats, output } = await run.done();
      assert.equal(stats.successful, 5, output.slice(-2000));
      assert.equal(stats.failed, 0);
      assert.equal(code, 0);
    });
  }
});
