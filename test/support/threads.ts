// What the kernel says of a process's threads: their names and scheduling (the native media I/O
// threads' real-time priority), and whether this process may ask for real-time scheduling at all.
import { readFileSync, readdirSync } from "node:fs";

/** A thread's name, scheduling policy (0 normal, 1 SCHED_FIFO, 2 SCHED_RR) and real-time priority. */
export interface ThreadScheduling {
  readonly name: string;
  readonly policy: number;
  readonly priority: number;
}

/** Every thread of a process (this one by default), from proc(5) stat fields 2, 40 and 41. */
export function threadScheduling(pid: number | "self" = "self"): ThreadScheduling[] {
  const out: ThreadScheduling[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.push({ name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), policy: Number(fields[38]), priority: Number(fields[37]) });
  }
  return out;
}

/** The scheduling policy and real-time priority of each media-io thread of this process. */
export function mediaIoThreads(): { policy: number; priority: number }[] {
  return threadScheduling()
    .filter((t) => t.name === "media-io")
    .map((t) => ({ policy: t.policy, priority: t.priority }));
}

/** Whether this process may use SCHED_FIFO at priority: CAP_SYS_NICE (bit 23 of CapEff) or a high enough RLIMIT_RTPRIO. */
export function mayRunRealtime(priority: number): boolean {
  const status = readFileSync("/proc/self/status", "utf8");
  const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)![1]}`);
  if ((capEff >> 23n) & 1n) return true;
  const limit = /^Max realtime priority\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"))![1]!;
  return limit === "unlimited" || Number(limit) >= priority;
}
