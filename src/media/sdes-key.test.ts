import { test } from "node:test";
import assert from "node:assert/strict";
import { formatSdesKeyParam, generateSrtpMasterKey, parseSdesKeyParam, sdesCryptoAttribute, sdesKeyOf } from "./sdes-key.ts";

// 30 octets 0x00..0x1d: master key 00..0f, master salt 10..1d.
const KEY_SALT_B64 = Buffer.from(Array.from({ length: 30 }, (_, i) => i)).toString("base64");

test("inline key parameters with lifetime and MKI (RFC 4568 6.1)", () => {
  const cases: { param: string; lifetime?: number; mki?: { value: number; length: number } }[] = [
    { param: `inline:${KEY_SALT_B64}` },
    { param: `inline:${KEY_SALT_B64}|2^20`, lifetime: 2 ** 20 },
    { param: `inline:${KEY_SALT_B64}|1048576|1:4`, lifetime: 1048576, mki: { value: 1, length: 4 } },
    { param: `inline:${KEY_SALT_B64}|2:4`, mki: { value: 2, length: 4 } },
  ];
  for (const c of cases) {
    const r = parseSdesKeyParam(c.param);
    assert.ok(r.ok, c.param);
    assert.deepEqual([...r.value.key], Array.from({ length: 16 }, (_, i) => i));
    assert.deepEqual([...r.value.salt], Array.from({ length: 14 }, (_, i) => i + 16));
    assert.equal(r.value.lifetime, c.lifetime);
    assert.deepEqual(r.value.mki, c.mki);
  }
  const round = parseSdesKeyParam(`inline:${KEY_SALT_B64}|2^31|7:2`);
  assert.ok(round.ok);
  assert.equal(formatSdesKeyParam(round.value), `inline:${KEY_SALT_B64}|2^31|7:2`);
});

test("unusable key parameters are typed errors", () => {
  const cases: [string, string][] = [
    ["key:abc", "SDES_BAD_KEY_PARAM"],
    ["inline:!!!", "SDES_BAD_KEY_PARAM"],
    [`inline:${Buffer.alloc(16).toString("base64")}`, "SDES_BAD_KEY_LENGTH"],
    [`inline:${KEY_SALT_B64}|2^x`, "SDES_BAD_LIFETIME"],
    [`inline:${KEY_SALT_B64}|1:0`, "SDES_BAD_MKI"],
    [`inline:${KEY_SALT_B64}|1:4|2^20`, "SDES_BAD_LIFETIME"],
  ];
  for (const [param, code] of cases) {
    const r = parseSdesKeyParam(param);
    assert.ok(!r.ok, param);
    assert.equal(r.error, code, param);
  }
});

test("crypto attribute from the sdp layer to a profile and key, and back", () => {
  const key = generateSrtpMasterKey();
  assert.equal(key.key.length, 16);
  assert.equal(key.salt.length, 14);
  const attr = sdesCryptoAttribute(1, "AES_CM_128_HMAC_SHA1_32", key);
  const back = sdesKeyOf(attr);
  assert.ok(back.ok);
  assert.equal(back.value.profile, "AES_CM_128_HMAC_SHA1_32");
  assert.deepEqual([...back.value.key.key], [...key.key]);
  const unknown = sdesKeyOf({ tag: 2, suite: "AEAD_AES_256_GCM", keyParams: [`inline:${KEY_SALT_B64}`], sessionParams: [] });
  assert.ok(!unknown.ok && unknown.error === "SDES_UNKNOWN_SUITE");
});
