import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplayWindow, SrtpContext, SrtpLabel, createSrtpContext, srtpDeriveKey, srtpKeystream, srtpSessionKeys } from "./srtp.ts";
import { marshalRtpPacket } from "./rtp-packet.ts";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

// RFC 3711 Appendix B.3 master key and salt, also used by libsrtp's known-answer vectors.
const MASTER = { key: hex("E1F97A0D3E018BE0D64FA32C06DE4139"), salt: hex("0EC675AD498AFEEBB6960B3AABE6") };

function context(profile: "AES_CM_128_HMAC_SHA1_80" | "AES_CM_128_HMAC_SHA1_32" = "AES_CM_128_HMAC_SHA1_80"): SrtpContext {
  const c = createSrtpContext(profile, MASTER);
  assert.ok(c.ok);
  return c.value;
}

test("RFC 3711 B.2: AES-CM keystream at the start and at block 0xFEFF", () => {
  const key = hex("2B7E151628AED2A6ABF7158809CF4F3C");
  const salt = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"); // the vector's offset, SSRC 0, index 0
  const stream = srtpKeystream(key, salt, 0, 0, 1044512);
  assert.equal(
    stream.subarray(0, 48).toString("hex").toUpperCase(),
    "E03EAD0935C95E80E166B16DD92B4EB4" + "D23513162B02D0F72A43A2FE4A5F97AB" + "41E95B3BB0A2E8DD477901E4FCA894C0",
  );
  assert.equal(
    stream.subarray(stream.length - 48).toString("hex").toUpperCase(),
    "EC8CDF7398607CB0F2D21675EA9EA1E4" + "362B7C3C6773516318A077D7FC5073AE" + "6A2CC3787889374FBEB4C81B17BA6C44",
  );
});

test("RFC 3711 B.3: key derivation with labels 0, 1, 2", () => {
  const cases: [number, number, string][] = [
    [SrtpLabel.rtpEncryption, 16, "C61E7A93744F39EE10734AFE3FF7A087"],
    [SrtpLabel.rtpSalt, 14, "30CBBC08863D8C85D49DB34A9AE1"],
    [
      SrtpLabel.rtpAuthentication,
      94,
      "CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE E049646C43D9327AD175578EF7227098" +
        "6371C10C9A369AC2F94A8C5FBCDDDC25 6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2",
    ],
  ];
  for (const [label, length, want] of cases) {
    assert.deepEqual(srtpDeriveKey(MASTER, label, length), hex(want), `label ${label}`);
  }
  const keys = srtpSessionKeys(MASTER, false);
  assert.deepEqual(keys.authentication, hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
});

// libsrtp's srtp_driver known answer for AES_CM_128_HMAC_SHA1_80 with the B.3 master key.
const RTP_PLAIN = hex(
  "800f1234" + // V=2, PT 15, seq 0x1234
    "decafbad" + // timestamp
    "cafebabe" + // SSRC
    "abababababababababababababababab", // 16-octet payload
);
const SRTP_CIPHER = hex(
  "800f1234decafbadcafebabe" + // header in clear
    "4e55dc4ce79978d88ca4d215949d2402" + // encrypted payload
    "b78d6acc99ea179b8dbb", // 80-bit tag
);
const RTCP_PLAIN = hex(
  "81c8000b" + // SR header (truncated body in the vector)
    "cafebabe" + // sender SSRC
    "abababababababababababababababab",
);
const SRTCP_CIPHER = hex(
  "81c8000bcafebabe" + // clear part
    "7128035be487b9bdbef89041f977a5a8" + // encrypted
    "80000001" + // E=1, SRTCP index 1
    "993e08cd54d6c1230798", // 80-bit tag
);

test("protect matches the libsrtp known answer for SRTP and SRTCP", () => {
  const tx = context();
  const out = Buffer.alloc(64);
  const n = tx.protectRtp(RTP_PLAIN, out);
  assert.ok(n.ok);
  assert.deepEqual(out.subarray(0, n.value), SRTP_CIPHER);

  // The vector carries SRTCP index 1, the second packet of the stream.
  assert.ok(tx.protectRtcp(RTCP_PLAIN, out).ok);
  const m = tx.protectRtcp(RTCP_PLAIN, out);
  assert.ok(m.ok);
  assert.deepEqual(out.subarray(0, m.value), SRTCP_CIPHER);

  const rx = context();
  const plain = Buffer.alloc(64);
  const r = rx.unprotectRtp(SRTP_CIPHER, plain);
  assert.ok(r.ok);
  assert.deepEqual(plain.subarray(0, r.value), RTP_PLAIN);
  const c = rx.unprotectRtcp(SRTCP_CIPHER, plain);
  assert.ok(c.ok);
  assert.deepEqual(plain.subarray(0, c.value), RTCP_PLAIN);
});

test("SRTCP labels 3, 4, 5 derive the control keys", () => {
  const keys = srtpSessionKeys(MASTER, true);
  assert.deepEqual(keys.encryption, hex("4c1aa45a81f73d61c800bbb00fbb1eaa"));
  assert.deepEqual(keys.authentication, hex("8d54534feb49ae8e7993a6bd0b844fc323a93dfd"));
  assert.deepEqual(keys.salt, hex("9581c7ad87b3e530bf3e4454a8b3"));
});

function rtp(seq: number, ssrc = 0x01020304, payload = 160): Buffer {
  const out = Buffer.alloc(12 + payload + 10);
  const n = marshalRtpPacket(
    { marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc, csrc: [], payload: Buffer.alloc(payload, seq & 0xff), paddingLength: 0 },
    out,
  );
  return out.subarray(0, n);
}

test("round trip in place for both profiles, across the sequence number wrap", () => {
  for (const profile of ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"] as const) {
    const tx = context(profile);
    const rx = context(profile);
    for (let i = 0; i < 40; i++) {
      const seq = (65520 + i) % 65536;
      const plain = rtp(seq);
      const buf = Buffer.alloc(plain.length + 10);
      plain.copy(buf);
      const p = tx.protectRtp(buf.subarray(0, plain.length), buf);
      assert.ok(p.ok);
      assert.equal(p.value, plain.length + (profile.endsWith("80") ? 10 : 4));
      assert.notDeepEqual(buf.subarray(12, plain.length), plain.subarray(12), "payload encrypted");
      const u = rx.unprotectRtp(buf.subarray(0, p.value), buf);
      assert.ok(u.ok, `${profile} seq ${seq}: ${u.ok ? "" : u.error}`);
      assert.deepEqual(buf.subarray(0, u.value), plain);
    }
  }
});

test("a packet after the wrap uses ROC 1: the receiver's guess authenticates it", () => {
  const tx = context();
  const rx = context();
  const out = Buffer.alloc(200);
  for (const seq of [65534, 65535, 0, 1]) {
    const n = tx.protectRtp(rtp(seq), out);
    assert.ok(n.ok);
    assert.ok(rx.unprotectRtp(Buffer.from(out.subarray(0, n.value)), out).ok, `seq ${seq}`);
  }
  assert.equal(SrtpContext.estimateRoc(1, 1, 65535), 0, "late packet from before the wrap");
  assert.equal(SrtpContext.estimateRoc(0, 65000, 10), 1, "wrap");
  assert.equal(SrtpContext.estimateRoc(0, 100, 90), 0, "reordered");
});

test("tampering, truncation and replay are refused without changing state", () => {
  const tx = context();
  const rx = context();
  const out = Buffer.alloc(200);
  const n = tx.protectRtp(rtp(10), out);
  assert.ok(n.ok);
  const srtp = Buffer.from(out.subarray(0, n.value));
  for (const at of [1, 3, 8, 20, srtp.length - 1]) {
    const bad = Buffer.from(srtp);
    bad[at] = bad[at]! ^ 0x01;
    const r = rx.unprotectRtp(bad, Buffer.alloc(200));
    assert.ok(!r.ok && r.error === "SRTP_AUTH_FAILED", `flip at ${at}`);
  }
  const short = rx.unprotectRtp(srtp.subarray(0, 15), Buffer.alloc(200));
  assert.ok(!short.ok && short.error === "SRTP_TOO_SHORT");
  assert.ok(rx.unprotectRtp(srtp, Buffer.alloc(200)).ok, "first copy accepted");
  const again = rx.unprotectRtp(srtp, Buffer.alloc(200));
  assert.ok(!again.ok && again.error === "SRTP_REPLAYED");

  const rtcpOut = Buffer.alloc(64);
  const c = tx.protectRtcp(RTCP_PLAIN, rtcpOut);
  assert.ok(c.ok);
  const srtcp = Buffer.from(rtcpOut.subarray(0, c.value));
  assert.ok(rx.unprotectRtcp(srtcp, Buffer.alloc(64)).ok);
  const replay = rx.unprotectRtcp(srtcp, Buffer.alloc(64));
  assert.ok(!replay.ok && replay.error === "SRTP_REPLAYED");
  const next = tx.protectRtcp(RTCP_PLAIN, rtcpOut);
  assert.ok(next.ok);
  const forged = Buffer.from(rtcpOut.subarray(0, next.value));
  forged[10] = forged[10]! ^ 0x80;
  const refused = rx.unprotectRtcp(forged, Buffer.alloc(64));
  assert.ok(!refused.ok && refused.error === "SRTP_AUTH_FAILED");
  assert.ok(rx.unprotectRtcp(rtcpOut.subarray(0, next.value), Buffer.alloc(64)).ok, "genuine copy still accepted");
});

test("replay window: late packets inside it pass once, older ones are too old", () => {
  const w = new ReplayWindow(64);
  for (const i of [100, 98, 99]) {
    assert.equal(w.check(i), "ok");
    w.accept(i);
  }
  assert.equal(w.check(99), "SRTP_REPLAYED");
  assert.equal(w.check(97), "ok", "never seen, inside window");
  assert.equal(w.check(36), "SRTP_TOO_OLD");
  w.accept(300);
  assert.equal(w.check(100), "SRTP_TOO_OLD");
  assert.equal(w.check(299), "ok", "slot cleared when the window advanced");
});

test("bad keys are refused", () => {
  const r = createSrtpContext("AES_CM_128_HMAC_SHA1_80", { key: Buffer.alloc(15), salt: Buffer.alloc(14) });
  assert.ok(!r.ok && r.error === "SRTP_BAD_KEY");
});

test("garbage never throws: every malformed input is a typed error", () => {
  const rx = context();
  const out = Buffer.alloc(400);
  for (let len = 0; len < 200; len++) {
    const junk = Buffer.from(Array.from({ length: len }, (_, i) => (i === 0 ? 0x80 : (i * 151 + len * 13) & 0xff)));
    const r = rx.unprotectRtp(junk, out);
    assert.ok(!r.ok);
    const c = rx.unprotectRtcp(junk, out);
    assert.ok(!c.ok);
  }
  const p = rx.protectRtp(Buffer.from([0x80, 0, 0, 1]), out);
  assert.ok(!p.ok && p.error === "SRTP_BAD_HEADER");
  const small = rx.protectRtp(RTP_PLAIN, Buffer.alloc(RTP_PLAIN.length));
  assert.ok(!small.ok && small.error === "SRTP_OUT_TOO_SMALL");
});
