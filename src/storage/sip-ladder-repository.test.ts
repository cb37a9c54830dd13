// The SipLadderRepository contract: every implementation runs this same suite.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import type { SipLadderMessage, SipLadderRepository } from "../ports/index.ts";
import { MemorySipLadderRepository, openSqliteStorage } from "./index.ts";

const T0 = Date.UTC(2026, 0, 1);
const dir = mkdtempSync(join(tmpdir(), "trunkline-ladders-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function message(i: number, text: string, over: Partial<SipLadderMessage> = {}): SipLadderMessage {
  return {
    at: T0 + i + 0.125,
    direction: i % 2 === 0 ? "in" : "out",
    leg: "a",
    protocol: "UDP",
    local: { address: "127.0.0.1", port: 5060 },
    remote: { address: "::1", port: 5062 },
    raw: Buffer.from(text, "latin1"),
    ...over,
  };
}

let n = 0;
const implementations: Array<{ name: string; open(): { repo: SipLadderRepository; close(): Promise<void> } }> = [
  { name: "memory", open: () => ({ repo: new MemorySipLadderRepository(), close: async () => {} }) },
  {
    name: "sqlite :memory:",
    open: () => {
      const s = openSqliteStorage({ path: ":memory:" });
      return { repo: s.sipLadders, close: () => s.close() };
    },
  },
  {
    name: "sqlite file (worker writer)",
    open: () => {
      const s = openSqliteStorage({ path: join(dir, `l${n++}.db`) });
      return { repo: s.sipLadders, close: () => s.close() };
    },
  },
];

for (const impl of implementations) {
  describe(`SipLadderRepository (${impl.name})`, () => {
    let repo: SipLadderRepository;
    let close: () => Promise<void>;
    beforeEach(() => {
      const opened = impl.open();
      repo = opened.repo;
      close = opened.close;
    });
    afterEach(() => close());

    it("saves a ladder and reads it back byte for byte, in order, with its addresses and times", async () => {
      // Binary in the body (NUL, 0xff) must survive as well as text.
      const messages = [message(0, "INVITE sip:a@b SIP/2.0\r\n\r\n"), message(1, "SIP/2.0 200 OK\r\n\r\n\x00\xff\x80", { leg: "b", protocol: "TCP", direction: "out" })];
      await repo.save("call-1", T0, messages);
      const got = await repo.get("call-1");
      assert.equal(got?.length, 2);
      assert.deepEqual(Buffer.from(got![1]!.raw), Buffer.from("SIP/2.0 200 OK\r\n\r\n\x00\xff\x80", "latin1"));
      assert.deepEqual({ ...got![1]!, raw: null }, { ...messages[1]!, raw: null });
      assert.equal(got![0]!.at, T0 + 0.125);
      assert.equal(await repo.get("nope"), undefined);
    });

    it("replaces the ladder of a call saved again", async () => {
      await repo.save("call-2", T0, [message(0, "A")]);
      await repo.save("call-2", T0 + 1, [message(0, "B"), message(1, "C")]);
      assert.equal((await repo.get("call-2"))?.length, 2);
    });

    it("prunes ladders saved before the cut-off and keeps the rest", async () => {
      await repo.save("old", T0, [message(0, "A")]);
      await repo.save("new", T0 + 3_600_000, [message(0, "B")]);
      assert.equal(await repo.prune(T0 + 1), 1);
      assert.equal(await repo.get("old"), undefined);
      assert.ok((await repo.get("new")) !== undefined);
      assert.equal(await repo.prune(T0 + 1), 0);
    });
  });
}

describe("SQLite SIP ladders", () => {
  it("are durable across a reopen of the file", async () => {
    const path = join(dir, "reopen.db");
    const first = openSqliteStorage({ path });
    await first.sipLadders.save("call-r", T0, [message(0, "INVITE")]);
    await first.close();
    const second = openSqliteStorage({ path });
    try {
      assert.equal((await second.sipLadders.get("call-r"))?.length, 1);
    } finally {
      await second.close();
    }
  });
});
