import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseMessage, serializeMessage } from "./index.ts";
import type { ParseResult } from "./index.ts";

// parseMessage reads a datagram of usual size over its bytes (chars.ts `scan`) and a larger one
// over its decoded text: the same message must come out of both. Padding past the message
// makes a datagram take the text path; RFC 3261 18.3 has octets beyond Content-Length ignored.
const dir = fileURLToPath(new URL("../../../test/fixtures/sip-torture/", import.meta.url));
const corpus = readdirSync(dir)
  .filter((f) => f.endsWith(".dat"))
  .map((f) => readFileSync(dir + f));
const PAD = Buffer.alloc(5000, 0x78);
const CRLFCRLF = Buffer.from("\r\n\r\n");
const LFLF = Buffer.from("\n\n");

/** The head of a parse result as text: the message without its body and its re-serialized header section, or the error. */
function headOf(r: ParseResult): string | null {
  if (!r.ok) return r.error.code === "BODY_TRUNCATED" ? null : JSON.stringify(r.error);
  const m = r.message;
  // The same new body on both sides: the header section is then written from the parsed fields and received lines.
  m.body = Buffer.from("x");
  const { body: _body, ...rest } = m;
  return JSON.stringify(rest) + "\n" + serializeMessage(m).toString("latin1");
}

function sameBothWays(data: Buffer): void {
  // Without the empty line the header section runs to the end of the datagram, padding included.
  if (data.indexOf(CRLFCRLF) < 0 && data.indexOf(LFLF) < 0) return;
  const viaBytes = headOf(parseMessage(data));
  if (viaBytes === null) return;
  const viaText = headOf(parseMessage(Buffer.concat([data, PAD]), { maxMessageSize: 1 << 20 }));
  assert.equal(viaBytes, viaText, JSON.stringify(data.toString("latin1")));
}

describe("byte scanners", () => {
  it("read every torture message as the text scanners do", () => {
    for (const data of corpus) sameBothWays(data);
  });

  it("read torture messages with one character changed as the text scanners do", () => {
    // Characters that delimit or end the sub-grammars (params, URIs, name-addrs, Via), and bytes >= 128.
    const swaps = Buffer.from(';,"<>@:[]?= \t\\/0aZ\x7f\x80\xe9\xff', "latin1");
    let n = 0;
    for (const data of corpus) {
      const head = Math.min(data.length, 600);
      for (let pos = 0; pos < head; pos += 7) {
        for (let k = (pos * 5) % 3; k < swaps.length; k += 3) {
          const copy = Buffer.from(data);
          copy[pos] = swaps[k]!;
          sameBothWays(copy);
          n++;
        }
      }
    }
    assert.ok(n > 1000, "mutations tried: " + n);
  });
});
