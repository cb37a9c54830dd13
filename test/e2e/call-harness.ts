// Shared setup of the call-layer interop tests: a SIP stack and the call layer in this process on a
// free port at 127.0.0.1, provisioned like examples/loopback but with the SIPp peers' free ports.
import assert from "node:assert/strict";
import { afterEach } from "node:test";
import { Writable } from "node:stream";
import { compilePolicy, defaultFailoverPolicy, type Policy, type Provisioning } from "../../src/domain/index.ts";
import { createLogger } from "../../src/observability/index.ts";
import { createSipStack, type SipStack } from "../../src/sip/index.ts";
import { createCallLayer, type CallLayer, type CallLayerOptions, type MediaAnchor } from "../../src/call/index.ts";
import { MemoryBindingRepository, MemoryCdrRepository } from "../../src/storage/index.ts";
import type { CallDetailRecord } from "../../src/ports/index.ts";
import { systemClock, type Clock } from "../../src/lib/index.ts";
import { freePort } from "../support/ports.ts";
import { haveSipp, runSipp, type SippRun } from "../support/sipp.ts";
import { stopAll } from "../support/processes.ts";
import { poll, until } from "../support/until.ts";

/** The `skip` of a describe that needs SIPp. */
export const skipWithoutSipp: string | false = haveSipp() ? false : "sipp is not installed";

/** Ports of the SIPp peers, each on its own loopback address. */
export interface PeerPorts {
  readonly pbx: number; // acme PBX at 127.0.1.1
  readonly pbxFailover: number; // acme failover URI at 127.0.1.2
  readonly gw1: number; // alpha gateway 1 at 127.0.2.1
  readonly gw2: number; // alpha gateway 2 at 127.0.2.2
  readonly beta: number; // beta gateway at 127.0.3.1
  readonly loadtest: number; // loadtest PBX at 127.0.4.1
}

/** The loopback provisioning set with the given peer ports. */
export function loopbackProvisioning(p: PeerPorts): Provisioning {
  return {
    customers: [
      {
        id: "acme",
        name: "acme",
        identification: { cidrs: ["127.0.1.1/32"], credentials: [{ username: "acme", password: "acme-secret" }], requireBoth: true },
        mode: { kind: "static", uri: `sip:127.0.1.1:${p.pbx}` },
        dids: [{ kind: "range", from: "+15550100000", to: "+15550100099" }],
        limits: { channels: 10, cps: 20 },
        outbound: { allowedPrefixes: ["+1", "+44"], callerId: "any" },
        failover: { uris: [`sip:127.0.1.2:${p.pbxFailover}`], policy: defaultFailoverPolicy(1000) },
        numbering: { format: "e164-plus", countryCode: "1" },
      },
      {
        id: "globex",
        name: "globex",
        identification: { cidrs: [], credentials: [{ username: "globex", password: "globex-secret" }] },
        mode: { kind: "registration" },
        dids: [{ kind: "range", from: "+15550200000", to: "+15550200099" }],
        limits: { channels: 2 },
        outbound: { allowedPrefixes: ["+1"], callerId: "any" },
        failover: { uris: [], policy: defaultFailoverPolicy(1000) },
        numbering: { format: "e164-plus", countryCode: "1" },
      },
      {
        id: "loadtest",
        name: "loadtest",
        identification: { cidrs: ["127.0.4.0/24"], credentials: [] },
        mode: { kind: "static", uri: `sip:127.0.4.1:${p.loadtest}` },
        dids: [{ kind: "range", from: "+15550300000", to: "+15550300099" }],
        limits: { channels: 2, cps: 100 },
        outbound: { allowedPrefixes: ["+"], callerId: "any" },
        failover: { uris: [], policy: defaultFailoverPolicy(1000) },
        numbering: { format: "e164-plus", countryCode: "1" },
      },
    ],
    carriers: [
      {
        id: "alpha",
        name: "alpha",
        gateways: [
          { id: "alpha-gw1", uri: `sip:127.0.2.1:${p.gw1}`, transport: "udp", priority: 1, weight: 1 },
          { id: "alpha-gw2", uri: `sip:127.0.2.2:${p.gw2}`, transport: "udp", priority: 2, weight: 1 },
        ],
        sourceCidrs: ["127.0.2.0/24"],
        credentials: { username: "alpha-user", password: "alpha-pass" },
        numbering: { format: "e164-plus", countryCode: "1" },
        limits: { channels: 100 },
        failover: defaultFailoverPolicy(1000),
      },
      {
        id: "beta",
        name: "beta",
        gateways: [{ id: "beta-gw1", uri: `sip:127.0.3.1:${p.beta}`, transport: "udp", priority: 1, weight: 1 }],
        sourceCidrs: ["127.0.3.0/24"],
        numbering: { format: "e164", countryCode: "1" },
        limits: { channels: 100 },
        failover: defaultFailoverPolicy(1000),
      },
    ],
    routes: [
      { id: "nanp", prefix: "1", ordering: "priority", carriers: [{ carrierId: "alpha", priority: 1, weight: 1 }, { carrierId: "beta", priority: 2, weight: 1 }] },
      { id: "uk", prefix: "44", ordering: "priority", carriers: [{ carrierId: "beta", priority: 1, weight: 1 }] },
    ],
    rateDecks: [
      { carrierId: "alpha", currency: "USD", entries: [{ prefix: "1", pricePerMinute: 0.01 }] },
      { carrierId: "beta", currency: "USD", entries: [{ prefix: "1", pricePerMinute: 0.02 }, { prefix: "44", pricePerMinute: 0.03 }] },
    ],
  };
}

/** A running stack + call layer with in-memory repositories and captured log lines. */
export interface CallHarness {
  readonly stack: SipStack;
  readonly layer: CallLayer;
  readonly cdrs: WatchedCdrRepository;
  readonly bindings: MemoryBindingRepository;
  readonly ports: PeerPorts;
  readonly address: string;
  readonly port: number;
  readonly logLines: string[];
  /** Total channels in use on a trunk. */
  channels(trunkId: string): number;
  /** Starts SIPp on a loopback address with a scenario, talking to (or waiting for) Trunkline. */
  sipp(address: string, port: number, scenario: string, extra?: { service?: string; caller?: string; pauseMs?: number; client?: boolean; timeoutSec?: number; calls?: number; rate?: number; tcp?: boolean }): SippRun;
  /** Waits for the SIPp runs to end and asserts that each completed `calls` calls, naming its output and our log when not. */
  completed(runs: readonly SippRun[], calls?: number): Promise<void>;
  /** The first closed CDR, once there is one. */
  closedCdr(): Promise<CallDetailRecord>;
  /** Asserts that the trunks are back to 0 channels, waiting a little for the last release. */
  channelsFreed(...trunkIds: string[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * For a test file whose tests each start one harness: registers an afterEach that stops every
 * SIPp and then that harness, so no test leaks processes or ports into the next.
 */
export function callHarnessPerTest(): { start: typeof startCallHarness } {
  let current: CallHarness | undefined;
  afterEach(async () => {
    await stopAll();
    await current?.stop();
    current = undefined;
  });
  return {
    async start(...args) {
      current = await startCallHarness(...args);
      return current;
    },
  };
}

/** Starts the harness; `tweak` may change the provisioning before it is compiled. */
export async function startCallHarness(
  tweak: (p: Provisioning) => Provisioning = (p) => p,
  options: Partial<CallLayerOptions> = {},
  clock: Clock = systemClock,
  media?: MediaAnchor,
): Promise<CallHarness> {
  const address = "127.0.0.1";
  const port = await freePort(address);
  const ports: PeerPorts = {
    pbx: await freePort("127.0.1.1"),
    pbxFailover: await freePort("127.0.1.2"),
    gw1: await freePort("127.0.2.1"),
    gw2: await freePort("127.0.2.2"),
    beta: await freePort("127.0.3.1"),
    loadtest: await freePort("127.0.4.1"),
  };
  const compiled = compilePolicy(tweak(loopbackProvisioning(ports)));
  if (!compiled.ok) throw new Error(`provisioning invalid: ${compiled.error.join("; ")}`);
  const policy: Policy = compiled.value;
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(...chunk.toString("utf8").split("\n").filter((l) => l.length > 0));
      cb();
    },
  });
  const logger = createLogger({ level: process.env["TRUNKLINE_TEST_LOG"] === "debug" ? "debug" : "info", destination });
  const stack = await createSipStack({ listen: [{ protocol: "UDP", address, port }, { protocol: "TCP", address, port }], timers: { t1: 250 }, logger: logger.child({ layer: "sip" }) });
  const cdrs = new WatchedCdrRepository();
  const bindings = new MemoryBindingRepository();
  const layer = createCallLayer({
    stack,
    policy: () => policy,
    cdrs,
    bindings,
    clock,
    logger,
    ...(media !== undefined ? { media } : {}),
    options: { realm: "trunkline.test", nonceSecret: "test-secret", random: () => 0, ...options },
  });
  const channels = (trunkId: string): number => {
    const c = layer.channelUse(trunkId);
    return c.inbound + c.outbound;
  };
  return {
    stack,
    layer,
    cdrs,
    bindings,
    ports,
    address,
    port,
    logLines,
    channels,
    async completed(runs, calls = 1) {
      const results = await Promise.all(runs.map((r) => r.done()));
      for (const r of results) assert.equal(r.stats.successful, calls, r.output.slice(-1500) + "\n" + logLines.join("\n"));
    },
    async closedCdr() {
      const [cdr] = await cdrs.waitClosed(1);
      assert.ok(cdr);
      return cdr;
    },
    async channelsFreed(...trunkIds) {
      await poll(() => trunkIds.every((id) => channels(id) === 0));
      for (const id of trunkIds) assert.equal(channels(id), 0, `channels of ${id}`);
    },
    sipp(localAddress, localPort, scenario, extra = {}) {
      const client = extra.client ?? scenario.startsWith("call-uac");
      return runSipp({
        scenario,
        ...(client ? { remote: `${address}:${port}` } : {}),
        localAddress,
        localPort,
        calls: extra.calls ?? 1,
        ...(extra.tcp === true ? { transport: "t1" as const } : {}),
        ...(extra.rate !== undefined ? { rate: extra.rate } : {}),
        timeoutSec: extra.timeoutSec ?? 15,
        service: extra.service ?? "+15551230001",
        keys: { caller: extra.caller ?? "+15550100005" },
        callDurationMs: extra.pauseMs ?? 300,
        // Retransmissions may overtake: only a wrong message fails a scenario.
        defaultBehaviors: "all,-bye",
      });
    },
    async stop() {
      await layer.stop();
      await stack.close();
    },
  };
}

// The call tests import until from here, beside the harness they wait on.
export { until } from "../support/until.ts";

/** The storage layer's in-memory CDR repository, plus a way for tests to await closed records. */
export class WatchedCdrRepository extends MemoryCdrRepository {
  /** Closed records, oldest first. */
  async closed(): Promise<CallDetailRecord[]> {
    const { rows } = await this.search({ limit: 100_000 });
    return rows.filter((r) => r.endedAt !== null).sort((a, b) => a.startedAt - b.startedAt);
  }

  /** Resolves once `count` records are closed, or rejects after ms. */
  async waitClosed(count: number, ms = 10_000): Promise<CallDetailRecord[]> {
    let closed: CallDetailRecord[] = [];
    await until(async () => (closed = await this.closed()).length >= count, ms, () => `${count} closed CDRs, have ${closed.length}`);
    return closed;
  }
}
