import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CodecSpec, type SessionDescription, codecsOf, parseSdp, serializeSdp } from "../../sdp/index.ts";
import { answerForOfferer, planCodecs, withTelephoneEvent, withoutTelephoneEvent } from "./codec-plan.ts";

function body(formats: string, extra: readonly string[] = [], more: readonly string[] = []): SessionDescription {
  const text = ["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", `m=audio 4000 RTP/AVP ${formats}`, ...extra, ...more, ""].join("\r\n");
  const parsed = parseSdp(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

const TE = ["a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15"];
const spec = (...names: string[]): CodecSpec[] => names.map((name) => ({ name }));

describe("planCodecs (pass-through, PCMU<->PCMA transcoding, or 488)", () => {
  const cases: { name: string; offer: SessionDescription; allow: CodecSpec[]; kind?: "pass-through" | "transcode"; formats?: string[]; fails?: RegExp }[] = [
    { name: "a common codec passes through, ordered by the allow-list", offer: body("0 8 101", TE), allow: spec("PCMA", "PCMU", "telephone-event"), kind: "pass-through", formats: ["8", "0", "101"] },
    { name: "PCMU only against PCMA only is transcoded", offer: body("0 101", TE), allow: spec("PCMA", "telephone-event"), kind: "transcode", formats: ["8", "101"] },
    { name: "PCMA only against PCMU only is transcoded", offer: body("8"), allow: spec("PCMU"), kind: "transcode", formats: ["0"] },
    { name: "G.729 cannot be transcoded", offer: body("18 101", TE), allow: spec("PCMA"), fails: /offered G729\/8000, telephone-event\/8000.*allowed PCMA/ },
    { name: "G.722 against PCMU fails too", offer: body("9"), allow: spec("PCMU"), fails: /only PCMU<->PCMA/ },
    { name: "an offer of events alone has no voice to keep", offer: body("101", TE), allow: spec("PCMU", "telephone-event"), fails: /MEDIA|no codec/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planCodecs(c.offer, c.allow);
      if (c.fails !== undefined) {
        assert.equal(plan.ok, false);
        if (!plan.ok) {
          assert.equal(plan.error.code, "MEDIA_CODEC_MISMATCH");
          assert.equal(plan.error.warnCode, 305);
          assert.match(plan.error.message, c.fails);
        }
        return;
      }
      assert.ok(plan.ok);
      assert.equal(plan.value.kind, c.kind);
      assert.deepEqual(plan.value.offer.media[0]!.formats, c.formats);
    });
  }

  it("names the new law with an rtpmap line and drops the other law's", () => {
    const plan = planCodecs(body("0 101", ["a=rtpmap:0 PCMU/8000", ...TE]), spec("PCMA", "telephone-event"));
    assert.ok(plan.ok);
    const text = serializeSdp(plan.value.offer);
    assert.match(text, /a=rtpmap:8 PCMA\/8000/);
    assert.doesNotMatch(text, /PCMU/);
  });
});

describe("answer rewriting for the offerer", () => {
  it("gives a transcoded answer the offerer's own numbers for its law and for telephone-event", () => {
    const offered = codecsOf(body("0 101", TE).media[0]!);
    const answer = body("8 96", ["a=rtpmap:96 telephone-event/8000"]).media[0]!;
    const out = answerForOfferer(answer, offered, true);
    assert.deepEqual(out?.formats, ["0", "101"]);
    assert.deepEqual(codecsOf(out!).map((c) => c.name), ["PCMU", "telephone-event"]);
  });

  it("puts telephone-event back for an RFC 4733 offerer whose peer answered without it", () => {
    const offered = codecsOf(body("0 101", TE).media[0]!);
    assert.deepEqual(answerForOfferer(body("0").media[0]!, offered, true)?.formats, ["0", "101"]);
    assert.deepEqual(answerForOfferer(body("0 101", TE).media[0]!, offered, false)?.formats, ["0"]);
  });

  it("refuses an answer codec that was neither offered nor transcodable", () => {
    const offered = codecsOf(body("0").media[0]!);
    assert.equal(answerForOfferer(body("18").media[0]!, offered, false), undefined);
  });

  it("adds telephone-event on a free dynamic number and strips it", () => {
    const m = withTelephoneEvent(body("0 101", ["a=rtpmap:101 G726-32/8000"]).media[0]!);
    assert.deepEqual(m.formats, ["0", "101", "102"]);
    assert.deepEqual(withoutTelephoneEvent(m).formats, ["0", "101"]);
  });
});
