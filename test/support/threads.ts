// What the kernel says of this process's threads: the native media I/O threads' scheduling, and
// whether this process may ask for real-time scheduling at all.
import { readFileSync, readdirSync } from "node:fs";

/** The scheduling policy (0 normal, 1 SCHED_FIFO) and real-time priority of each media-io thread of this process, by thread name (proc(5) stat fields 41 and 40). */
export function mediaIoThreads(): { policy: number; priority: number }[] {
  const out: { policy: number; priority: number }[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    let comm: string;
    let stat: string;
    try {
      comm = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
      stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    if (comm !== "media-io") continue;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.push({ policy: Number(fields[38]), priority: Number(fields[37]) });
  }
  return out;
}

/** Whether this process may use SCHED_FIFO at priority: CAP_SYS_NICE (bit 23 of CapEff) or a high enough RLIMIT_RTPRIO. */
export function mayRunRealtime(priority: number): boolean {
  const status = readFileSync("/proc/self/status", "utf8");
  const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)![1]}`);
  if ((capEff >> 23n) & 1n) return true;
  const limit = /^Max realtime priority\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"))![1]!;
  return limit === "unlimited" || Number(limit) >= priority;
}
