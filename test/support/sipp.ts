import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
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
}

export interface SippStats {
  successful: number;
  failed: number;
  created: number;
}

/** A SIPp run: the process and, once ended, its statistics. */
export interface SippRun {
  readonly process: RunningProcess;
  /** Waits for SIPp to end by itself and returns exit code and stats. */
  done(): Promise<{ code: number | string; stats: SippStats; output: string }>;
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
    "-buff_size", "4194304",
    "-timeout", `${o.timeoutSec}s`,
    "-timeout_error",
    "-trace_stat", "-stf", statFile, "-fd", "1",
    ...(o.calls !== undefined ? ["-m", String(o.calls)] : []),
    ...(o.rate !== undefined ? ["-r", String(o.rate)] : []),
    ...(o.ratePeriodMs !== undefined ? ["-rp", String(o.ratePeriodMs)] : []),
    ...(o.limit !== undefined ? ["-l", String(o.limit)] : []),
    ...(o.service !== undefined ? ["-s", o.service] : []),
    ...Object.entries(o.keys ?? {}).flatMap(([k, v]) => ["-key", k, v]),
    ...(o.extra ?? []),
  ];
  const proc = startProcess("sipp", args, { cwd: dir });
  const readStats = (): SippStats => {
    if (!existsSync(statFile)) return { successful: 0, failed: 0, created: 0 };
    const lines = readFileSync(statFile, "utf8").trim().split("\n");
    const header = (lines[0] ?? "").split(";");
    const last = (lines[lines.length - 1] ?? "").split(";");
    const col = (name: string): number => {
      const i = header.indexOf(name);
      return i < 0 ? 0 : Number(last[i] ?? 0);
    };
    return { successful: col("SuccessfulCall(C)"), failed: col("FailedCall(C)"), created: col("TotalCallCreated") };
  };
  return {
    process: proc,
    async done() {
      const code = await proc.exited;
      const stats = readStats();
      const output = proc.output();
      rmSync(dir, { recursive: true, force: true });
      return { code, stats, output };
    },
    async stop() {
      await proc.stop("SIGTERM", 3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
