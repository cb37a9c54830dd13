import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

/** A child process started by a test, stopped by its own PID and never by name. */
export interface RunningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Sends signal to the PID and waits for the exit, escalating to SIGKILL after graceMs. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

const running = new Set<RunningProcess>();

/** Starts a command; the test must stop it (stopAll() is a safety net in after hooks). */
export function startProcess(command: string, args: readonly string[], options: SpawnOptions = {}): RunningProcess {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    if (out.length < 1_000_000) out += d.toString("utf8");
  });
  child.stderr?.on("data", (d: Buffer) => {
    if (out.length < 1_000_000) out += d.toString("utf8");
  });
  const exited = new Promise<number | string>((resolveExit) => {
    child.on("exit", (code, signal) => resolveExit(code ?? signal ?? "unknown"));
    child.on("error", (e) => {
      out += String(e);
      resolveExit("error");
    });
  });
  const proc: RunningProcess = {
    child,
    pid,
    output: () => out,
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(pid, signal);
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }, graceMs);
        const code = await exited;
        clearTimeout(timer);
        running.delete(proc);
        return code;
      }
      running.delete(proc);
      return exited;
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** Stops every process this test file started and that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop("SIGKILL", 1000)));
}
