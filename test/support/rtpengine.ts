// Starts Debian's rtpengine by hand, in userspace mode (no kernel module, --table=-1) on loopback,
// for tests and benchmarks. It never runs as a system service here: each user gets its own
// process, its own ng port and its own media port range, stopped by PID.
import { existsSync } from "node:fs";
import { createNgClient } from "../../src/media/rtpengine/index.ts";
import { freePort } from "./ports.ts";
import { type RunningProcess, startProcess } from "./processes.ts";

/** Where the Debian package rtpengine-daemon installs the binary. */
export const RTPENGINE_BIN = process.env["RTPENGINE_BIN"] ?? "/usr/bin/rtpengine";

/** True when the rtpengine binary is installed. */
export function rtpengineInstalled(): boolean {
  return existsSync(RTPENGINE_BIN);
}

/** A running rtpengine, answering ng on address:ngPort. */
export interface RtpengineProcess {
  readonly address: string;
  readonly ngPort: number;
  readonly process: RunningProcess;
  /** Its log (stderr) so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Options of a test rtpengine; the port range must be private to the caller. */
export interface StartRtpengineOptions {
  readonly portMin: number;
  readonly portMax: number;
  readonly address?: string;
  /** rtpengine log level (syslog numbers; default 5, notice). */
  readonly logLevel?: number;
  readonly extraArgs?: readonly string[];
}

/** Starts rtpengine and waits until it answers an ng ping; throws with its log when it does not start. */
export async function startRtpengine(opts: StartRtpengineOptions): Promise<RtpengineProcess> {
  const address = opts.address ?? "127.0.0.1";
  const ngPort = await freePort(address);
  const proc = startProcess(RTPENGINE_BIN, [
    // No config file: only our arguments count, whatever /etc/rtpengine holds.
    "--config-file=none",
    "--foreground",
    "--log-stderr",
    "--no-log-timestamps",
    `--log-level=${opts.logLevel ?? 5}`,
    "--table=-1",
    `--interface=${address}`,
    `--listen-ng=${address}:${ngPort}`,
    `--port-min=${opts.portMin}`,
    `--port-max=${opts.portMax}`,
    "--num-threads=2",
    // Calls are forgotten at once after delete, so a query afterwards says "Unknown call-id".
    "--delete-delay=0",
    ...(opts.extraArgs ?? []),
  ]);
  const client = createNgClient({ address, port: ngPort, timeoutMs: 300, retransmitMs: 100 });
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) break;
      const pong = await client.ping();
      if (pong.ok) {
        return {
          address,
          ngPort,
          process: proc,
          output: () => proc.output(),
          stop: async () => {
            await proc.stop("SIGTERM", 3000);
          },
        };
      }
    }
  } finally {
    await client.close();
  }
  await proc.stop("SIGKILL", 1000);
  throw new Error(`rtpengine did not start:\n${proc.output().slice(-2000)}`);
}
