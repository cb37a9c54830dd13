// Preloaded into the Trunkline process under fuzz (node --expose-gc --import tsx --import this):
// on the test's IPC message "probe" it runs a full GC and answers with heapUsed and RSS, so the
// leak check compares live memory rather than garbage not yet collected. The channel is unref'd:
// it must not keep the server alive after SIGTERM.
const gc = (globalThis as { gc?: () => void }).gc;

process.on("message", (m: unknown) => {
  if (m !== "probe") return;
  gc?.();
  gc?.();
  const u = process.memoryUsage();
  process.send?.({ heapUsed: u.heapUsed, rss: u.rss, gc: gc !== undefined });
});
process.channel?.unref();
