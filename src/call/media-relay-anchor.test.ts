import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createMediaRelay, type MediaRelay } from "../media/index.ts";
import { provisioningSchema } from "../config/index.ts";
import { MediaAnchorError } from "./media-anchor.ts";
import { relayMediaAnchor } from "./media-relay-anchor.ts";

const offer = (port: number, formats = "0", extra = "a=rtpmap:0 PCMU/8000\r\n"): Buffer =>
  Buffer.from(`v=0\r\no=x 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\nm=audio ${port} RTP/AVP ${formats}\r\n${extra}`);

let relay: MediaRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

describe("relay media anchor", () => {
  test("anchors offer and answer on the relay and frees the ports on release", async () => {
    relay = createMediaRelay({ address: "127.0.0.1", portMin: 42000, portMax: 42100 });
    const anchor = relayMediaAnchor(relay);
    const out = (await anchor.offer("c1", "a", offer(7000))).toString();
    assert.match(out, /c=IN IP4 127\.0\.0\.1/);
    assert.match(out, /m=audio 420\d\d RTP\/AVP 0/);
    const back = (await anchor.answer("c1", "b", offer(7002))).toString();
    assert.match(back, /m=audio 420\d\d RTP\/AVP 0/);
    assert.ok(relay.portsInUse() > 0);
    await anchor.release("c1");
    assert.equal(relay.portsInUse(), 0);
  });

  test("direct media on either trunk passes SDP untouched and holds no port", async () => {
    relay = createMediaRelay({ address: "127.0.0.1", portMin: 42000, portMax: 42100 });
    const anchor = relayMediaAnchor(relay);
    const sdp = offer(7000);
    assert.equal(await anchor.offer("c2", "a", sdp, { b: { directMedia: true } }), sdp);
    assert.equal(relay.portsInUse(), 0);
    assert.equal(anchor.report("c2"), undefined);
    await anchor.release("c2");
  });

  test("a codec the receiving trunk does not allow is a 488 with a 305 Warning", async () => {
    relay = createMediaRelay({ address: "127.0.0.1", portMin: 42000, portMax: 42100 });
    const anchor = relayMediaAnchor(relay);
    await assert.rejects(anchor.offer("c3", "a", offer(7000), { b: { codecs: ["G729"] } }), (e: unknown) => {
      assert.ok(e instanceof MediaAnchorError);
      assert.equal(e.status, 488);
      assert.match(e.warning ?? "", /^305 trunkline "/);
      return true;
    });
    await anchor.release("c3");
    assert.equal(relay.portsInUse(), 0);
  });

  test("SRTP required on the offering trunk refuses a plain RTP offer with 488", async () => {
    relay = createMediaRelay({ address: "127.0.0.1", portMin: 42000, portMax: 42100 });
    const anchor = relayMediaAnchor(relay);
    await assert.rejects(anchor.offer("c4", "a", offer(7000), { a: { srtp: "required" } }), (e: unknown) => e instanceof MediaAnchorError && e.status === 488);
    await anchor.release("c4");
  });

  test("no free ports is a 503", async () => {
    relay = createMediaRelay({ address: "127.0.0.1", portMin: 42200, portMax: 42203 });
    const anchor = relayMediaAnchor(relay);
    await anchor.offer("c5", "a", offer(7000));
    await assert.rejects(anchor.offer("c6", "a", offer(7000)), (e: unknown) => e instanceof MediaAnchorError && e.status === 503);
    await anchor.release("c5");
    await anchor.release("c6");
  });

  test("provisioning carries media settings to the trunks", () => {
    const p = provisioningSchema.parse({
      carriers: [{ name: "g729only", gateways: ["sip:127.0.0.5"], media: { codecs: ["G729"], dtmf: "info", srtp: "off" } }],
      customers: [{ name: "pbx", mode: "static", uri: "sip:127.0.0.6", sourceAddresses: ["127.0.0.6"], media: { directMedia: true } }],
    });
    assert.deepEqual(p.carriers[0]?.media, { codecs: ["G729"], dtmf: "info", srtp: "off" });
    assert.deepEqual(p.customers[0]?.media, { directMedia: true });
    assert.throws(() => provisioningSchema.parse({ carriers: [{ name: "x", gateways: ["sip:127.0.0.5"], media: { dtmf: "morse" } }] }));
  });
});
