import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { StreamFramer } from "./index.ts";
import type { ParseResult, SipRequest } from "./index.ts";

function options(n: number, body = ""): string {
  return (
    `OPTIONS sip:a@b.example SIP/2.0\r\nVia: SIP/2.0/TCP h.example;branch=z9hG4bK${n}\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b.example>\r\n` +
    `Call-ID: c${n}\r\nCSeq: ${n} OPTIONS\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

function seqs(results: ParseResult[]): number[] {
  return results.map((r) => (r.ok ? (r.message as SipRequest).cseq.seq : -1));
}

describe("StreamFramer", () => {
  it("returns pipelined messages from one chunk, skipping CRLF keep-alives", () => {
    const f = new StreamFramer();
    assert.deepEqual(seqs(f.push(Buffer.from("\r\n\r\n" + options(1) + options(2, "hello") + "\r\n" + options(3)))), [1, 2, 3]);
    assert.equal(f.buffered, 0);
  });

  it("waits for split header sections and bodies, at every split point", () => {
    const wire = Buffer.from(options(1, "body ü bytes") + options(2));
    for (let cut = 1; cut < wire.length; cut++) {
      const f = new StreamFramer();
      const got = [...f.push(wire.subarray(0, cut)), ...f.push(wire.subarray(cut))];
      assert.deepEqual(seqs(got), [1, 2], `cut at ${cut}`);
      assert.equal((got[0] as { message: SipRequest }).message.body.toString(), "body ü bytes");
    }
  });

  it("keeps binary bodies exact", () => {
    const body = Buffer.from([0, 1, 2, 13, 10, 13, 10, 255]);
    const head = options(7).replace("Content-Length: 0", "Content-Length: 8");
    const f = new StreamFramer();
    const [r] = f.push(Buffer.concat([Buffer.from(head), body]));
    assert.ok(r?.ok);
    assert.deepEqual(r.message.body, body);
  });

  it("breaks on a missing Content-Length", () => {
    const f = new StreamFramer();
    const [r] = f.push(Buffer.from(options(1).replace("Content-Length: 0\r\n", "")));
    assert.ok(r !== undefined && !r.ok);
    assert.equal(r.error.code, "BAD_CONTENT_LENGTH");
    assert.equal(f.broken, true);
    assert.deepEqual(f.push(Buffer.from(options(2))), []);
  });

  it("breaks on a negative or conflicting Content-Length", () => {
    for (const bad of ["Content-Length: -1", "Content-Length: 0\r\nl: 5"]) {
      const f = new StreamFramer();
      const [r] = f.push(Buffer.from(options(1).replace("Content-Length: 0", bad)));
      assert.ok(r !== undefined && !r.ok);
      assert.equal(f.broken, true);
    }
  });

  it("breaks on a message over maxMessageSize, even before the header section ends", () => {
    const f = new StreamFramer({ maxMessageSize: 100 });
    const [r] = f.push(Buffer.from("OPTIONS sip:a@b SIP/2.0\r\nX-Long: " + "x".repeat(200)));
    assert.ok(r !== undefined && !r.ok);
    assert.equal(r.error.code, "TOO_LARGE");
    assert.equal(f.broken, true);
  });

  it("skips one malformed message whose Content-Length is usable and stays framed", () => {
    const f = new StreamFramer();
    const got = f.push(Buffer.from(options(1).replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE") + options(2)));
    assert.deepEqual(seqs(got), [-1, 2]);
    assert.equal(f.broken, false);
  });
});
