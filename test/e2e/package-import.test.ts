// The SIP stack is usable on its own as `trunkline/sip` (built to dist/ by `npm run build`,
// which `npm ci` runs through the prepare script).
import { test } from "node:test";
import assert from "node:assert/strict";
import { optionsProbe, udpPeer } from "../support/raw-sip.ts";

test('import { createSipStack, parseMessage } from "trunkline/sip" answers OPTIONS', async () => {
  const sip = (await import("trunkline/sip" as string)) as typeof import("../../src/sip/index.ts");
  const parsed = sip.parseMessage(
    Buffer.from("OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nFrom: <sip:b@x>;tag=1\r\nTo: <sip:a@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"),
  );
  assert.ok(parsed.ok);
  const stack = await sip.createSipStack({ listen: [{ protocol: "UDP", address: "127.0.0.1", port: 0 }] });
  try {
    const port = stack.transport.listening()[0]?.endpoint.port ?? 0;
    const peer = await udpPeer("127.0.0.1", 0, { address: "127.0.0.1", port });
    try {
      await peer.send(optionsProbe("UDP", { address: "127.0.0.1", port: peer.port }, { address: "127.0.0.1", port }, 1));
      await peer.waitFor(1, 2000);
      assert.equal(peer.received[0]?.status, 200);
    } finally {
      await peer.close();
    }
  } finally {
    await stack.close();
  }
});
