// media.realtimePriority from the config file to the relay worker's I/O thread: a Trunkline started
// with it has its media forwarding thread under SCHED_FIFO at that priority (or, where the kernel
// refuses, starts anyway on the normal scheduler), and no such thread is left after it stops.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mayRunRealtime, mediaIoThreads } from "../support/threads.ts";
import { startTestServer } from "../support/trunkline.ts";
import { poll } from "../support/until.ts";

// As in native-io.test.ts: the test command builds the addon, so only the install's opt-out skips.
const skip = process.env["TRUNKLINE_SKIP_NATIVE"] === "1" ? "TRUNKLINE_SKIP_NATIVE=1" : false;

test("media.realtimePriority puts the relay worker's I/O thread under SCHED_FIFO", { skip }, async () => {
  const server = await startTestServer({
    protocols: ["udp"],
    extraYaml: "media:\n  workers: 1\n  portMin: 46000\n  portMax: 46099\n  realtimePriority: 9\n",
  });
  try {
    // The worker applies it as it starts, which may be just after startTrunkline resolves.
    assert.ok(await poll(() => mediaIoThreads().length === 1, 5000), `media-io threads: ${JSON.stringify(mediaIoThreads())}`);
    const expected = mayRunRealtime(9) ? { policy: 1, priority: 9 } : { policy: 0, priority: 0 };
    assert.deepEqual(mediaIoThreads(), [expected]);
  } finally {
    await server.stop();
  }
  assert.deepEqual(mediaIoThreads(), [], "the worker and its I/O thread are gone after stop");
});
