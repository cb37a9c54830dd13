import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfigText } from "../../src/config/index.ts";
import { startTrunkline, type TrunklineHandle } from "../../src/main.ts";
import type { SipStack } from "../../src/sip/index.ts";
import { freePort } from "./ports.ts";

/** A Trunkline running in this process on free loopback ports, with its own temp data folder. */
export interface TestServer {
  readonly handle: TrunklineHandle;
  readonly udp: { address: string; port: number };
  readonly tcp: { address: string; port: number };
  /** Where the HTTP API listens, or null when it was not asked for. */
  readonly http: { address: string; port: number } | null;
  readonly dataDir: string;
  stack(): SipStack;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  protocols?: ReadonlyArray<"udp" | "tcp">;
  address?: string;
  /** Extra YAML appended to the generated config (top-level sections other than sip/storage/log). */
  extraYaml?: string;
  logLevel?: "silent" | "info" | "debug";
  /** Serve the HTTP API on a free port of the listen address (see TestServer.http). */
  http?: boolean;
}

/** Starts Trunkline from a YAML config built for the test; stop() removes its data folder. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const address = options.address ?? "127.0.0.1";
  const port = await freePort(address);
  const http = options.http === true ? { address, port: await freePort(address) } : null;
  const dataDir = mkdtempSync(join(tmpdir(), "trunkline-test-"));
  const listeners = (options.protocols ?? ["udp", "tcp"]).map((p) => `    - { protocol: ${p}, address: "${address}", port: ${port} }`).join("\n");
  const yaml = [
    "sip:",
    "  listen:",
    listeners,
    "storage:",
    `  path: ${JSON.stringify(join(dataDir, "trunkline.db"))}`,
    "log:",
    `  level: ${options.logLevel ?? "silent"}`,
    "http:",
    http === null ? "  enabled: false" : `  enabled: true\n  listen: "${http.address}:${http.port}"`,
    options.extraYaml ?? "",
  ].join("\n");
  const parsed = parseConfigText(yaml, "test");
  if (!parsed.ok) throw new Error(`test config invalid: ${JSON.stringify(parsed.error)}`);
  const handle = await startTrunkline(parsed.value);
  return {
    handle,
    udp: { address, port },
    tcp: { address, port },
    http,
    dataDir,
    stack: () => {
      if (handle.sip === undefined) throw new Error("SIP stack not started");
      return handle.sip;
    },
    async stop() {
      await handle.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
