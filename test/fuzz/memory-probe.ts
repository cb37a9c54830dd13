// Preloaded into the Trunkline process under fuzz (node --expose-gc --import tsx --import this):
// on the test's IPC message "probe" it runs a full GC and answers with heapUsed, external (Buffers
// live outside the JS heap) and RSS, so the
// leak check compares live memory rather than garbage not yet collected. The channel is unref'd:
// it must not keep the server alive after SIGTERM.
import { Socket } from "node:dgram";

const gc = (globalThis as { gc?: () => void }).gc;

process.on("message", (m: unknown) => {
  if (m !== "probe") return;
  gc?.();
  gc?.();
  const u = process.memoryUsage();
  process.send?.({ heapUsed: u.heapUsed, external: u.external, rss: u.rss, gc: gc !== undefined });
});
process.channel?.unref();

// FUZZ_LEAK_SELFTEST=1 plants a leak (every UDP datagram received is kept), to show that the
// leak check fails when memory does grow with traffic.
if (process.env["FUZZ_LEAK_SELFTEST"] === "1") {
  const kept: Buffer[] = [];
  const emit = Socket.prototype.emit as (this: Socket, event: string | symbol, ...args: unknown[]) => boolean;
  Socket.prototype.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === "message" && Buffer.isBuffer(args[0])) kept.push(Buffer.from(args[0]));
    return emit.call(this, event, ...args);
  };
}
