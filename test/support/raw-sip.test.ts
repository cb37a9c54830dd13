import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { sipStreamSplitter } from "./raw-sip.ts";

const message = (header: string, body: string): string => `SIP/2.0 200 OK\r\nCall-ID: x\r\n${header}\r\n\r\n${body}`;

describe("sipStreamSplitter", () => {
  it("frames by Content-Length in the long and the compact form, any case", () => {
    for (const header of ["Content-Length: 5", "l: 5", "L:5", "content-length :\t5"]) {
      const split = sipStreamSplitter();
      const out = split(Buffer.from(message(header, "hello") + message("l: 0", ""), "latin1"));
      assert.deepEqual(out.map((m) => m.toString("latin1")), [message(header, "hello"), message("l: 0", "")], header);
    }
  });

  it("waits for the whole body across chunks, byte by byte", () => {
    const split = sipStreamSplitter();
    const whole = Buffer.from(message("l: 3", "abc"), "latin1");
    const got: string[] = [];
    for (const byte of whole) got.push(...split(Buffer.from([byte])).map((m) => m.toString("latin1")));
    assert.deepEqual(got, [whole.toString("latin1")]);
  });

  it("skips keep-alive CRLFs between messages", () => {
    const split = sipStreamSplitter();
    const out = split(Buffer.from(`\r\n\r\n${message("l: 0", "")}\r\n${message("l: 1", "z")}`, "latin1"));
    assert.equal(out.length, 2);
    assert.ok(out[1]?.toString("latin1").endsWith("\r\n\r\nz"));
  });
});
