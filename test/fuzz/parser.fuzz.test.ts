// Parser and stream-framer fuzzing over mutated real messages (issue 5). Bounded for CI; longer on
// demand: FUZZ_SECONDS=300 (time) and/or FUZZ_ITERATIONS=1000000 (count), FUZZ_SEED=n to replay.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { StreamFramer, buildMalformedReply, parseMessage, serializeMessage } from "../../src/sip/index.ts";
import type { ParseErrorCode, ParseResult, SipMessage } from "../../src/sip/index.ts";
import { Rng, defaultRealistic, fuzzSeed, mutate, randomChunks, tortureCorpus, type Mutated } from "./mutators.ts";

const seed = fuzzSeed();
const seconds = Number(process.env["FUZZ_SECONDS"] ?? "0");
// In CI both caps apply (whichever comes first); FUZZ_SECONDS alone lifts the count cap.
const maxIterations = Number(process.env["FUZZ_ITERATIONS"] ?? (seconds > 0 ? "1e12" : "30000"));
const budgetMs = (seconds > 0 ? seconds : 12) * 1000;

const corpus = [...tortureCorpus(), ...defaultRealistic()];
// Well-formed messages for the framer: each frames itself by its own Content-Length.
const wellFormed = corpus.filter((b) => {
  const r = parseMessage(b);
  return r.ok && /\r\n(content-length|l)\s*:/i.test(b.toString("latin1")) && serializeMessage(r.message).length === b.length;
});

const CODES: ReadonlySet<ParseErrorCode> = new Set<ParseErrorCode>([
  "EMPTY",
  "BAD_START_LINE",
  "BAD_VERSION",
  "BAD_STATUS",
  "BAD_URI",
  "BAD_HEADER_LINE",
  "BAD_HEADER_VALUE",
  "MISSING_HEADER",
  "DUPLICATE_HEADER",
  "CSEQ_METHOD_MISMATCH",
  "BAD_CONTENT_LENGTH",
  "BODY_TRUNCATED",
  "TOO_LARGE",
]);

/** The typed fields of a message as plain data, so two parses can be compared field by field. */
function fields(m: SipMessage): unknown {
  const { body, ...rest } = m;
  return JSON.parse(JSON.stringify({ ...rest, body: body.toString("hex") })) as unknown;
}

/** Runs `step` until the share of the budget (time and count) is used; returns the count. */
function fuzzLoop(share: number, step: (rng: Rng, i: number) => void, salt: number): number {
  const rng = new Rng(seed ^ salt);
  const deadline = Date.now() + budgetMs * share;
  const cap = Math.ceil(maxIterations * share);
  let i = 0;
  for (; i < cap && (i % 64 !== 0 || Date.now() < deadline); i++) step(rng, i);
  return i;
}

function where(i: number, m: Mutated): string {
  return `seed=${seed} iteration=${i} mutators=${m.applied.join(",")}\n${JSON.stringify(m.bytes.toString("latin1").slice(0, 600))}`;
}

/** parseMessage must never throw and must return ok or a typed error. */
function parseChecked(data: Buffer, context: () => string): ParseResult {
  let r: ParseResult;
  try {
    r = parseMessage(data);
  } catch (e) {
    assert.fail(`parseMessage threw ${String(e)}\n${context()}`);
  }
  if (r.ok) {
    assert.ok(r.message.kind === "request" || r.message.kind === "response", context());
  } else {
    assert.ok(CODES.has(r.error.code), `unknown code ${r.error.code}\n${context()}`);
    assert.equal(typeof r.error.detail, "string", context());
  }
  return r;
}

describe(`parser fuzz (seed ${seed}; replay with FUZZ_SEED=${seed})`, () => {
  it("parseMessage never throws, returns typed results, and what parses re-parses to the same fields", () => {
    let parsed = 0;
    const n = fuzzLoop(
      0.5,
      (rng, i) => {
        const m = mutate(rng, corpus);
        const ctx = () => where(i, m);
        const r = parseChecked(m.bytes, ctx);
        if (!r.ok) {
          // The stateless 400/505 is built from whatever was salvaged: it must not throw either.
          const reply = buildMalformedReply(r.error);
          if (reply !== null) assert.ok(reply.toString("latin1").startsWith("SIP/2.0 "), ctx());
          return;
        }
        parsed++;
        const want = fields(r.message);
        // Twice: through the received text (the proxy path) and through a copy without it (the builder path).
        for (const m2 of [r.message, { ...r.message }]) {
          const wire = serializeMessage(m2);
          const again = parseChecked(wire, ctx);
          assert.ok(again.ok, `re-parse failed: ${again.ok ? "" : again.error.code + " " + again.error.detail}\n${ctx()}\n${JSON.stringify(wire.toString("latin1"))}`);
          assert.deepStrictEqual(fields(again.message), want, `${ctx()}\n${JSON.stringify(wire.toString("latin1"))}`);
        }
      },
      1,
    );
    console.log(`parseMessage: ${n} mutated messages, ${parsed} parsed and round-tripped`);
    assert.ok(n > 0);
  });

  it("the stream framer never throws, gives the same results over any chunking, and buffers at most one message", () => {
    const max = 65536;
    const n = fuzzLoop(
      0.25,
      (rng, i) => {
        const parts: Mutated[] = [];
        for (let k = rng.range(1, 4); k > 0; k--) parts.push(rng.chance(0.5) ? { bytes: rng.pick(wellFormed), applied: ["none"] } : mutate(rng, corpus));
        const stream = Buffer.concat(parts.map((p) => p.bytes));
        const ctx = () => `seed=${seed} iteration=${i} ${parts.map((p) => p.applied.join("+")).join(" | ")}\n${JSON.stringify(stream.toString("latin1").slice(0, 600))}`;
        const summary = (rs: ParseResult[]) => rs.map((r) => (r.ok ? fields(r.message) : r.error.code));
        const whole = new StreamFramer({ maxMessageSize: max });
        const chunked = new StreamFramer({ maxMessageSize: max });
        let a: ParseResult[];
        const b: ParseResult[] = [];
        try {
          a = whole.push(stream);
          for (const c of randomChunks(rng, stream)) {
            b.push(...chunked.push(c));
            // Unframed bytes are bounded: never more than one message's worth plus the chunk just read.
            assert.ok(chunked.buffered <= max + c.length, `buffered ${chunked.buffered}\n${ctx()}`);
          }
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          assert.fail(`StreamFramer threw ${String(e)}\n${ctx()}`);
        }
        assert.deepStrictEqual(summary(b), summary(a), ctx());
        assert.equal(chunked.broken, whole.broken, ctx());
      },
      2,
    );
    console.log(`StreamFramer: ${n} streams over random chunkings`);
    assert.ok(n > 0);
  });

  it("after a garbage message with its own Content-Length, the framer stays in sync with the well-formed messages that follow", () => {
    let kept = 0;
    const n = fuzzLoop(
      0.25,
      (rng, i) => {
        // Garbage framed the way the framer defines it: a head with no empty line and no other
        // Content-Length, then one Content-Length, then exactly that many body bytes.
        const g = mutate(rng, corpus);
        const s = g.bytes.toString("latin1");
        const cut = s.indexOf("\r\n\r\n");
        const head = (cut < 0 ? s : s.slice(0, cut))
          .split(/\r\n|\n|\r/)
          // Judged as the framer reads it (UTF-8, where a BOM or U+00A0 around the name is trimmed).
          .filter((l) => l !== "" && !/^\s*(content-length|l)\s*:/i.test(Buffer.from(l, "latin1").toString("utf8")))
          .join("\r\n");
        const body = rng.bytes(rng.int(300));
        const garbage = Buffer.concat([Buffer.from(`${head || "X"}\r\nContent-Length: ${body.length}\r\n\r\n`, "latin1"), body]);
        if (garbage.length > 60_000) return;
        const followers = [rng.pick(wellFormed), rng.pick(wellFormed)];
        const framer = new StreamFramer();
        const out: ParseResult[] = [];
        for (const c of randomChunks(rng, Buffer.concat([garbage, ...followers]))) out.push(...framer.push(c));
        const ctx = () => `seed=${seed} iteration=${i} ${g.applied.join("+")}\n${JSON.stringify(garbage.toString("latin1").slice(0, 600))}\n${JSON.stringify(out.map((r) => (r.ok ? "ok" : r.error.code + " " + r.error.detail)))}`;
        assert.equal(framer.broken, false, ctx());
        assert.equal(out.length, 3, ctx());
        for (const [k, f] of followers.entries()) {
          const r = out[k + 1]!;
          const expected = parseMessage(f);
          assert.ok(r.ok && expected.ok, ctx());
          assert.deepStrictEqual(fields(r.message), fields(expected.message), ctx());
        }
        kept++;
      },
      3,
    );
    console.log(`StreamFramer resync: ${n} garbage messages, ${kept} followed by in-sync messages`);
    assert.ok(kept > 0);
  });
});
