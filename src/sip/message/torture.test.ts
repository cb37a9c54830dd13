import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { StreamFramer, buildMalformedReply, getHeader, parseMessage } from "./index.ts";
import type { ParseResult, SipMessage, SipRequest, SipUri } from "./index.ts";

// RFC 4475 and RFC 5118 torture messages, judged by the classes transcribed in expected.json.
const dir = fileURLToPath(new URL("../../../test/fixtures/sip-torture/", import.meta.url));

interface Expectation {
  file: string;
  source: string;
  kind: string;
  udp: "accept" | "reject" | "either" | "drop" | "skip";
  tcp: "accept" | "reject" | "either" | "drop" | "skip";
  codes: number[];
}

const table = JSON.parse(readFileSync(dir + "expected.json", "utf8")) as Expectation[];

function load(file: string): Buffer {
  return readFileSync(dir + file);
}

function req(file: string): SipRequest {
  const r = parseMessage(load(file));
  assert.ok(r.ok, file + " must parse");
  assert.equal(r.message.kind, "request");
  return r.message as SipRequest;
}

function sipUri(m: { uri: unknown }): SipUri {
  return m.uri as SipUri;
}

function statusOf(reply: Buffer | null): number | null {
  return reply === null ? null : Number(reply.toString("latin1").slice(8, 11));
}

function checkReject(file: string, r: ParseResult, codes: number[]): void {
  assert.ok(!r.ok, file + " must be refused");
  const reply = buildMalformedReply(r.error);
  const status = statusOf(reply);
  if (r.error.code === "BAD_VERSION") assert.equal(status, 505);
  else if (status !== null) assert.equal(status, 400, file + " replies 400");
  // A reply is only allowed when a Via survived; the RFC's named code must be among the listed ones.
  if (status !== null) assert.ok(codes.length === 0 || codes.includes(status), file + " reply " + status + " not in " + codes.join(","));
  if (r.error.salvage?.via === undefined) assert.equal(reply, null);
}

describe("RFC 4475 / RFC 5118 torture messages", () => {
  it("has all 62 files in the table", () => {
    assert.equal(table.length, 62);
  });

  for (const e of table) {
    it(`${e.file} over UDP (${e.udp})`, () => {
      const data = load(e.file);
      const r = parseMessage(data);
      if (e.udp === "accept") assert.ok(r.ok, `${e.file}: ${r.ok ? "" : r.error.code + " " + r.error.detail}`);
      else if (e.udp === "reject") checkReject(e.file, r, e.codes);
      else if (e.udp === "drop") {
        if (r.ok) assert.equal(r.message.kind, "response");
        else assert.equal(buildMalformedReply(r.error), null);
      } else if (!r.ok) {
        // "either": refusing is allowed, but then the reply must be a 400 or nothing.
        const status = statusOf(buildMalformedReply(r.error));
        assert.ok(status === null || status === 400);
      }
    });

    it(`${e.file} over TCP (${e.tcp})`, () => {
      const data = load(e.file);
      const framer = new StreamFramer();
      // Byte-at-a-time delivery must give the same results as one chunk.
      const whole = framer.push(data);
      const bytewise = new StreamFramer();
      const pieces: ParseResult[] = [];
      for (let i = 0; i < data.length; i++) pieces.push(...bytewise.push(data.subarray(i, i + 1)));
      assert.deepEqual(
        pieces.map((p) => p.ok),
        whole.map((p) => p.ok),
      );
      if (e.file === "clerr.dat") {
        assert.equal(whole.length, 0, "Content-Length beyond the data: the framer waits");
        return;
      }
      const first = whole[0];
      if (e.tcp === "accept") {
        assert.ok(first?.ok, `${e.file}: ${first !== undefined && !first.ok ? first.error.code : "no result"}`);
      } else if (e.tcp === "reject") {
        assert.ok(first !== undefined);
        checkReject(e.file, first, e.codes);
      } else if (e.tcp === "drop") {
        assert.ok(first !== undefined);
        if (first.ok) assert.equal(first.message.kind, "response");
        else assert.equal(buildMalformedReply(first.error), null);
      }
    });
  }
});

describe("torture messages: fields the RFCs single out", () => {
  it("wsinv: folding, LWS in Via, escaped quotes, leading zeros", () => {
    const m = req("wsinv.dat");
    assert.equal(m.via.length, 3);
    assert.deepEqual(
      m.via.map((v) => [v.transport, v.host, v.params["branch"]]),
      [
        ["UDP", "192.0.2.2", "390skdjuw"],
        ["TCP", "spindle.example.com", "z9hG4bK9ikj8"],
        ["UDP", "192.168.255.111", "z9hG4bK30239"],
      ],
    );
    assert.equal(m.from.displayName, 'J Rosenberg \\\\\\"');
    assert.equal(m.from.params["tag"], "98asjd8");
    assert.equal(m.to.params["tag"], "1918181833n");
    assert.equal(m.maxForwards, 68);
    assert.deepEqual(m.cseq, { seq: 9, method: "INVITE" });
    assert.equal(m.contact[0]?.displayName, 'Quoted string \\"\\"');
    assert.deepEqual(m.contact[0]?.params, { newparam: "newvalue", secondparam: null, q: "0.33" });
    assert.equal(getHeader(m, "newfangledheader"), "newfangled value continued newfangled value");
    assert.equal(getHeader(m, "UnknownHeaderWithUnusualValue"), ";;,,;;,;");
    assert.equal(getHeader(m, "Subject"), "");
    assert.deepEqual(sipUri(m.route[0]!).params, { lr: null, unknownwith: "value", "unknown-no-value": null });
    assert.equal(m.body.length, 150);
  });

  it("intmeth: every token character in the method", () => {
    const m = req("intmeth.dat");
    assert.equal(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
    assert.equal(m.cseq.seq, 139122385);
    assert.equal(sipUri(m).user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert.equal(sipUri(m).password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  });

  it("esc02: %-escapes are not escapes in method and header names: two Contacts", () => {
    const m = req("esc02.dat");
    assert.equal(m.method, "RE%47IST%45R");
    assert.equal(m.contact.length, 2);
    assert.equal(getHeader(m, "C%6Fntact"), "<sip:alias2@host2.example.com>");
  });

  it("escnull: %00 is kept escaped and both Contacts stay distinct", () => {
    const m = req("escnull.dat");
    assert.deepEqual(
      m.contact.map((c) => (c.uri as SipUri).user),
      ["%00", "%00%00"],
    );
  });

  it("semiuri: ';' inside the user part", () => {
    const u = sipUri(req("semiuri.dat"));
    assert.equal(u.user, "user;par=u%40example.net");
    assert.equal(u.host, "example.com");
    assert.deepEqual(u.params, {});
  });

  it("lwsdisp: display name touching '<'", () => {
    assert.equal(req("lwsdisp.dat").from.displayName, "caller");
  });

  it("longreq: 34 Via values and long Contact", () => {
    const m = req("longreq.dat");
    assert.equal(m.via.length, 34);
    assert.equal(m.via[0]?.host, "sip33.example.com");
    assert.equal(m.via[33]?.params["received"], "192.0.2.5");
  });

  it("dblreq: REGISTER with an empty body; the INVITE octets are ignored on UDP", () => {
    const m = req("dblreq.dat");
    assert.equal(m.method, "REGISTER");
    assert.equal(m.body.length, 0);
    const tcp = new StreamFramer().push(load("dblreq.dat"));
    assert.ok(tcp[0]?.ok && tcp[1]?.ok);
    assert.equal((tcp[1].message as SipRequest).method, "INVITE");
  });

  it("transports: five Via transports", () => {
    assert.deepEqual(
      req("transports.dat").via.map((v) => v.transport),
      ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"],
    );
  });

  it("mpart01: binary multipart body passed through by Content-Length", () => {
    const m = req("mpart01.dat");
    assert.equal(m.body.length, 553);
    assert.ok(m.body.includes(0));
  });

  it("noreason / unreason: responses with empty and UTF-8 reason phrases", () => {
    const a = parseMessage(load("noreason.dat"));
    assert.ok(a.ok && a.message.kind === "response");
    assert.equal(a.message.status, 100);
    assert.equal(a.message.reason, "");
    const b = parseMessage(load("unreason.dat"));
    assert.ok(b.ok && b.message.kind === "response");
    assert.equal(b.message.status, 200);
  });

  it("unkscm / novelsc / unksm2: other schemes stay opaque", () => {
    assert.deepEqual(req("unkscm.dat").uri, { scheme: "nobodyknowsthisscheme", opaque: "totallyopaquecontent" });
    assert.deepEqual(req("novelsc.dat").uri, { scheme: "soap.beep", opaque: "//192.0.2.103:3002" });
    const m = req("unksm2.dat");
    assert.equal(m.to.uri.scheme, "isbn");
    assert.equal(m.from.uri.scheme, "http");
    assert.equal(m.contact[0]?.uri.scheme, "name");
  });

  it("cparam01 / cparam02: contact-param outside <>, URI param inside", () => {
    const a = req("cparam01.dat").contact[0]!;
    assert.deepEqual(a.params, { unknownparam: null });
    assert.deepEqual((a.uri as SipUri).params, {});
    const b = req("cparam02.dat").contact[0]!;
    assert.deepEqual(b.params, {});
    assert.deepEqual((b.uri as SipUri).params, { unknownparam: null });
  });

  it("regescrt: escaped header kept in the Contact URI", () => {
    assert.deepEqual((req("regescrt.dat").contact[0]!.uri as SipUri).headers, [["Route", "%3Csip:sip.example.com%3E"]]);
  });

  it("zeromf: Max-Forwards 0", () => {
    assert.equal(req("zeromf.dat").maxForwards, 0);
  });

  it("port-ambiguous / port-unambiguous (RFC 5118 4.3, 4.4)", () => {
    const a = sipUri(req("port-ambiguous.dat"));
    assert.equal(a.host, "[2001:db8::10:5070]");
    assert.equal(a.port, null);
    const b = sipUri(req("port-unambiguous.dat"));
    assert.equal(b.host, "[2001:db8::10]");
    assert.equal(b.port, 5070);
  });

  it("Via received with and without [] (RFC 5118 4.5)", () => {
    assert.equal(req("via-received-param-with-delim.dat").via[0]?.params["received"], "[2001:db8::9:255]");
    assert.equal(req("via-received-param-no-delim.dat").via[0]?.params["received"], "2001:db8::9:255");
  });

  it("mult-ip-in-header: IPv6 with port and IPv4 Vias", () => {
    const m = req("mult-ip-in-header.dat");
    assert.deepEqual(
      m.via.map((v) => [v.host, v.port]),
      [
        ["[2001:db8::9:1]", 6050],
        ["192.0.2.1", null],
        ["[2001:db8::9:255]", null],
      ],
    );
  });

  it("IPv6 with the three-colon ABNF bug and the correct form (RFC 5118 4.10)", () => {
    assert.equal(sipUri(req("ipv6-bug-abnf-3-colons.dat")).host, "[2001:db8:::192.0.2.1]");
    assert.equal(sipUri(req("ipv6-correct-abnf-2-colons.dat")).host, "[2001:db8::192.0.2.1]");
    assert.equal(sipUri(req("ipv6-good.dat")).host, "[2001:db8::10]");
  });

  it("specific refusals carry the expected codes", () => {
    const code = (f: string): string => {
      const r = parseMessage(load(f));
      return r.ok ? "OK" : r.error.code;
    };
    assert.equal(code("badvers.dat"), "BAD_VERSION");
    assert.equal(code("bigcode.dat"), "BAD_STATUS");
    assert.equal(code("clerr.dat"), "BODY_TRUNCATED");
    assert.equal(code("ncl.dat"), "BAD_CONTENT_LENGTH");
    assert.equal(code("mcl01.dat"), "DUPLICATE_HEADER");
    assert.equal(code("multi01.dat"), "DUPLICATE_HEADER");
    assert.equal(code("mismatch01.dat"), "CSEQ_METHOD_MISMATCH");
    assert.equal(code("insuf.dat"), "MISSING_HEADER");
    assert.equal(code("ipv6-bad.dat"), "BAD_URI");
    assert.equal(code("test.dat"), "BAD_START_LINE");
  });

  it("badvers: the 505 copies Via, From, To (with a tag), Call-ID and CSeq", () => {
    const r = parseMessage(load("badvers.dat"));
    assert.ok(!r.ok);
    const text = buildMalformedReply(r.error)!.toString("latin1");
    assert.match(text, /^SIP\/2\.0 505 Version Not Supported\r\n/);
    assert.match(text, /\r\nVia: SIP\/7\.0\/UDP c\.example\.com;branch=z9hG4bKkdjuw\r\n/);
    assert.match(text, /\r\nTo: T\. Watson <sip:t\.watson@example\.org>;tag=[^\r]+\r\n/);
    assert.match(text, /\r\nCall-ID: badvers\.31417@c\.example\.com\r\nCSeq: 1 OPTIONS\r\n/);
    assert.ok(text.endsWith("Content-Length: 0\r\n\r\n"));
  });

  it("a reply to a salvaged request parses as a response", () => {
    for (const f of ["scalar02.dat", "mismatch01.dat", "insuf.dat", "multi01.dat", "ncl.dat"]) {
      const r = parseMessage(load(f));
      assert.ok(!r.ok);
      const reply = buildMalformedReply(r.error);
      assert.ok(reply !== null, f);
      const back = parseMessage(reply);
      // insuf lacks From/To, so its 400 cannot be a full response; the others must be.
      if (f !== "insuf.dat" && f !== "scalar02.dat") {
        assert.ok(back.ok, f + ": " + (back.ok ? "" : back.error.code));
        assert.equal((back.message as SipMessage & { status: number }).status, 400);
      }
    }
  });
});
