import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { escapeParamValue, formatSyslog, frameOctetCounted, headerField, recordFromLogLine, sdName } from "./syslog.ts";

const HEADER = { facility: 16, hostname: "sbc1.example.net", appName: "trunkline", procId: "4242", sdId: "trunkline@32473" };
const BOM = "\ufeff";

describe("RFC 5424 formatting", () => {
  it("writes PRI, VERSION 1, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID, SD and a BOM before MSG", () => {
    const text = formatSyslog(
      { severity: 4, timestamp: "2026-11-24T02:00:00.123Z", msgId: "auth-failed", params: [["source", "192.0.2.7:5060"], ["account", "105"]], msg: '{"a":1}' },
      HEADER,
    ).toString("utf8");
    // local0 (16) * 8 + warning (4) = 132.
    assert.equal(text, `<132>1 2026-11-24T02:00:00.123Z sbc1.example.net trunkline 4242 auth-failed [trunkline@32473 source="192.0.2.7:5060" account="105"] ${BOM}{"a":1}`);
  });

  it('escapes ", \\ and ] in PARAM-VALUE (6.3.3) and nothing else', () => {
    const cases: [string, string][] = [
      ['say "hi"', 'say \\"hi\\"'],
      ["C:\\path", "C:\\\\path"],
      ["a]b", "a\\]b"],
      ["[x=y] é", "[x=y\\] é"],
    ];
    for (const [input, expected] of cases) assert.equal(escapeParamValue(input), expected, input);
  });

  it("keeps header fields to PRINTUSASCII and their maximum lengths, NILVALUE when empty", () => {
    assert.equal(headerField("acl denied", 32), "acl_denied");
    assert.equal(headerField("x".repeat(40), 32).length, 32);
    assert.equal(headerField("", 48), "-");
    assert.equal(headerField("héllo", 48), "h_llo");
    assert.equal(sdName('we"ird=na]me x'), "we_ird_na_me_x");
  });

  it("an escaped value still parses back: the element ends at the first unescaped ]", () => {
    const value = 'evil"] [fake@1 x="y';
    const text = formatSyslog({ severity: 4, timestamp: "2026-11-24T02:00:00Z", msgId: "x", params: [["reason", value]], msg: "m" }, HEADER).toString();
    const sd = /\[(?:[^\]\\]|\\.)*\]/.exec(text)?.[0] ?? "";
    assert.equal(sd, `[trunkline@32473 reason="evil\\"\\] [fake@1 x=\\"y"]`);
  });

  it("cuts MSG to the maximum size without splitting a UTF-8 character", () => {
    const record = { severity: 4, timestamp: "2026-11-24T02:00:00Z", msgId: "x", params: [], msg: "€".repeat(100) };
    const out = formatSyslog(record, HEADER, 120);
    assert.ok(out.length <= 120);
    assert.doesNotMatch(out.toString("utf8"), /\ufffd/);
  });

  it("frames by RFC 6587 octet counting: MSG-LEN SP SYSLOG-MSG, length in octets", () => {
    const msg = Buffer.from("<132>1 - - - - - - é", "utf8");
    const framed = frameOctetCounted(msg).toString("utf8");
    assert.equal(framed, `${msg.length} <132>1 - - - - - - é`);
    assert.equal(msg.length, 21);
  });
});

describe("log lines to records", () => {
  const line = (o: Record<string, unknown>): string => `${JSON.stringify(o)}\n`;

  it("security events become records with MSGID the reason and the facts as structured data", () => {
    const r = recordFromLogLine(line({ level: "warn", time: "2026-11-24T02:00:00.000Z", security: true, source: "203.0.113.5:5060", account: "105", reason: "auth-failed", msg: "security: auth-failed" }), false);
    assert.deepEqual(r?.params, [["source", "203.0.113.5:5060"], ["account", "105"], ["reason", "auth-failed"]]);
    assert.equal(r?.msgId, "auth-failed");
    assert.equal(r?.severity, 4);
    assert.equal(r?.timestamp, "2026-11-24T02:00:00.000Z");
    assert.equal(r?.msg, line({ level: "warn", time: "2026-11-24T02:00:00.000Z", security: true, source: "203.0.113.5:5060", account: "105", reason: "auth-failed", msg: "security: auth-failed" }).trimEnd());
  });

  it("other warnings only with allWarnings; info never; garbage never", () => {
    const warn = line({ level: "warn", msg: "slow" });
    const error = line({ level: "error", msg: "broken" });
    assert.equal(recordFromLogLine(warn, false), null);
    assert.equal(recordFromLogLine(warn, true)?.msgId, "log");
    assert.equal(recordFromLogLine(error, true)?.severity, 3);
    assert.equal(recordFromLogLine(line({ level: "info", msg: "x" }), true), null);
    assert.equal(recordFromLogLine("not json", true), null);
    assert.equal(recordFromLogLine("[1,2]", true), null);
  });
});
