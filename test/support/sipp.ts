import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startProcess, type RunningProcess } from "./processes.ts";

/** Folder of our SIPp scenario files. */
export const scenarioDir = resolve(import.meta.dirname, "..", "sipp");

/** True when the sipp binary is on PATH. */
export function haveSipp(): boolean {
  try {
    execFileSync("sipp", ["-v"], { stdio: "ignore" });
    return true;
  } catch (e) {
    // sipp -v exits non-zero on some builds; only a missing binary is fatal.
    return (e as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

export interface SippOptions {
  /** Scenario file name under test/sipp, or a built-in like "uas". */
  scenario: string;
  /** Remote host:port (omitted for a server). */
  remote?: string;
  localAddress: string;
  localPort?: number;
  transport?: "u1" | "un" | "t1" | "tn";
  calls?: number;
  rate?: number;
  ratePeriodMs?: number;
  limit?: number;
  timeoutSec: number;
  service?: string;
  extra?: readonly string[];
  keys?: Readonly<Record<string, string>>;
  /** -d: length of each <pause/> without a duration in the scenario, i.e. the call hold. */
  callDurationMs?: number;
  /** -default_behaviors, e.g. "all,-abortunexp" where messages may be reordered. */
  defaultBehaviors?: string;
  /** -buff_size: UDP socket buffers in bytes (default 4 MiB; the kernel caps it at rmem_max). */
  bufferBytes?: number;
}

export interface SippStats {
  successful: number;
  failed: number;
  created: number;
  /** Calls in progress at the last statistics line. */
  current: number;
  retransmissions: number;
}

/** A SIPp run: the process and, once ended, its statistics. */
export interface SippRun {
  readonly process: RunningProcess;
  /** Waits for SIPp to end by itself and returns exit code and stats. */
  done(): Promise<{ code: number | string; stats: SippStats; output: string }>;
  /** Statistics of the last line written so far (SIPp writes one each -fd period, 1 s). */
  stats(): SippStats;
  stop(): Promise<void>;
}

/** Starts SIPp with the flags that keep it scriptable and loopback-bound. */
export function runSipp(o: SippOptions): SippRun {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-sipp-"));
  const statFile = join(dir, "stats.csv");
  const scenarioArgs = o.scenario.endsWith(".xml") ? ["-sf", join(scenarioDir, o.scenario)] : ["-sn", o.scenario];
  const args = [
    ...scenarioArgs,
    ...(o.remote !== undefined ? [o.remote] : []),
    "-i", o.localAddress,
    "-p", String(o.localPort ?? 0),
    "-bind_local",
    "-nostdin",
    "-t", o.transport ?? "u1",
    "-buff_size", String(o.bufferBytes ?? 4194304),
    "-timeout", `${o.timeoutSec}s`,
    "-timeout_error",
    "-trace_stat", "-stf", statFile, "-fd", "1",
    // Why a call failed (the message it did not expect) goes to <scenario>_<pid>_errors.log in dir.
    "-trace_err",
    ...(o.calls !== undefined ? ["-m", String(o.calls)] : []),
    ...(o.rate !== undefined ? ["-r", String(o.rate)] : []),
    ...(o.ratePeriodMs !== undefined ? ["-rp", String(o.ratePeriodMs)] : []),
    ...(o.limit !== undefined ? ["-l", String(o.limit)] : []),
    ...(o.service !== undefined ? ["-s", o.service] : []),
    ...(o.callDurationMs !== undefined ? ["-d", String(o.callDurationMs)] : []),
    ...(o.defaultBehaviors !== undefined ? ["-default_behaviors", o.defaultBehaviors] : []),
    ...Object.entries(o.keys ?? {}).flatMap(([k, v]) => ["-key", k, v]),
    ...(o.extra ?? []),
  ];
  const proc = startProcess("sipp", args, { cwd: dir });
  const readStats = (): SippStats => {
    if (!existsSync(statFile)) return { successful: 0, failed: 0, created: 0, current: 0, retransmissions: 0 };
    const lines = readFileSync(statFile, "utf8").trim().split("\n");
    const header = (lines[0] ?? "").split(";");
    // The last line may be half-written while SIPp runs: take the last complete one.
    const complete = lines.slice(1).map((l) => l.split(";")).filter((f) => f.length >= header.length);
    const last = complete[complete.length - 1] ?? [];
    const col = (name: string): number => {
      const i = header.indexOf(name);
      return i < 0 ? 0 : Number(last[i] ?? 0);
    };
    return {
      successful: col("SuccessfulCall(C)"),
      failed: col("FailedCall(C)"),
      created: col("TotalCallCreated"),
      current: col("CurrentCall"),
      retransmissions: col("Retransmissions(C)"),
    };
  };
  return {
    process: proc,
    stats: readStats,
    async done() {
      const code = await proc.exited;
      const stats = readStats();
      const errors = readdirSync(dir)
        .filter((f) => f.endsWith("_errors.log"))
        .map((f) => readFileSync(join(dir, f), "utf8"))
        .join("");
      // A failure's own words first: the output is usually cut to its tail.
      const output = proc.output() + (errors === "" ? "" : `\nSIPp error log (tail):\n${errors.slice(-3000)}`);
      rmSync(dir, { recursive: true, force: true });
      return { code, stats, output };
    },
    async stop() {
      await proc.stop("SIGTERM", 3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
