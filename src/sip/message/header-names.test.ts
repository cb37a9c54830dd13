import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Hot, canonicalHotAt, canonicalHotAtB, hotHeaderAt } from "./header-names.ts";

describe("recognising a hot header's canonical spelling", () => {
  const names: Array<[string, Hot]> = [
    ["Via:", Hot.Via],
    ["From:", Hot.From],
    ["To:", Hot.To],
    ["Call-ID:", Hot.CallId],
    ["CSeq:", Hot.CSeq],
    ["Contact:", Hot.Contact],
    ["Route:", Hot.Route],
    ["Record-Route:", Hot.RecordRoute],
    ["Max-Forwards:", Hot.MaxForwards],
    ["Content-Type:", Hot.ContentType],
    ["Content-Length:", Hot.ContentLength],
  ];

  it("knows each canonical name followed by its colon", () => {
    for (const [name, hot] of names) {
      assert.equal(canonicalHotAt("x\r\n" + name + " v", 3), hot, name);
      assert.equal(canonicalHotAtB(Buffer.from("x\r\n" + name + " v", "latin1"), 3), hot, name);
      assert.equal(hotHeaderAt(name, 0, name.length - 1), hot, name);
    }
  });

  it("reads the bytes exactly as the text: any other spelling is left to the general scan", () => {
    // Every prefix, every one-character change and every case change of each name.
    const spellings = new Set<string>(["Reute:", "Rocord-Route:", "Contect:", "Content-Lengthx", "Content-Typo:", "Conn", "Record-Route", "Routes:"]);
    for (const [name] of names) {
      spellings.add(name.slice(0, -1) + " :");
      for (let i = 0; i < name.length; i++) {
        spellings.add(name.slice(0, i));
        spellings.add(name.slice(0, i) + "X" + name.slice(i + 1));
        spellings.add(name.slice(0, i) + name[i]!.toLowerCase() + name.slice(i + 1));
      }
    }
    for (const spelling of spellings) {
      const text = "x\r\n" + spelling;
      const expected = names.find(([n]) => text.startsWith(n, 3))?.[1] ?? Hot.None;
      assert.equal(canonicalHotAt(text, 3), expected, JSON.stringify(spelling));
      assert.equal(canonicalHotAtB(Buffer.from(text, "latin1"), 3), expected, JSON.stringify(spelling));
    }
  });
});
