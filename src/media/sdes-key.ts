import { randomBytes } from "node:crypto";
import { type Result, ok, err } from "../lib/index.ts";
import type { CryptoAttribute } from "../sdp/index.ts";
import { SRTP_MASTER_KEY_SIZE, SRTP_MASTER_SALT_SIZE, type SrtpMasterKey, type SrtpProfile } from "./srtp.ts";

/*
 * RFC 4568 section 6.1, the SRTP key parameter of `a=crypto`:
 *
 *   inline:<base64(master key || master salt)>[|<lifetime>][|<MKI value>:<MKI length>]
 *
 * lifetime is a decimal count of packets or `2^n`; for the AES_CM_128 suites the decoded key
 * is 30 octets, 16 of key then 14 of salt (section 6.2).
 */

/** Stable codes for a crypto attribute this layer cannot use. */
export type SdesKeyError = "SDES_UNKNOWN_SUITE" | "SDES_BAD_KEY_PARAM" | "SDES_BAD_KEY_LENGTH" | "SDES_BAD_LIFETIME" | "SDES_BAD_MKI";

/** One decoded inline key. */
export interface SdesKey extends SrtpMasterKey {
  /** Packets the key may protect, when stated. */
  readonly lifetime?: number | undefined;
  readonly mki?: { readonly value: number; readonly length: number } | undefined;
}

const INLINE_PREFIX = "inline:";
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
const SUITES: ReadonlySet<string> = new Set<SrtpProfile>(["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"]);

/** The profile for an RFC 4568 suite name, or undefined for suites this layer does not implement. */
export function srtpProfileOf(suite: string): SrtpProfile | undefined {
  return SUITES.has(suite) ? (suite as SrtpProfile) : undefined;
}

/** Decodes one `inline:` key parameter. */
export function parseSdesKeyParam(param: string): Result<SdesKey, SdesKeyError> {
  if (!param.startsWith(INLINE_PREFIX)) return err("SDES_BAD_KEY_PARAM");
  const [keySalt, ...rest] = param.slice(INLINE_PREFIX.length).split("|");
  if (keySalt === undefined || !BASE64_RE.test(keySalt) || rest.length > 2) return err("SDES_BAD_KEY_PARAM");
  const raw = Buffer.from(keySalt, "base64");
  if (raw.length !== SRTP_MASTER_KEY_SIZE + SRTP_MASTER_SALT_SIZE) return err("SDES_BAD_KEY_LENGTH");
  let lifetime: number | undefined;
  let mki: SdesKey["mki"];
  for (const field of rest) {
    if (field.includes(":")) {
      const m = /^(\d{1,10}):(\d{1,3})$/.exec(field);
      const length = Number(m?.[2]);
      if (m === null || mki !== undefined || length < 1 || length > 128) return err("SDES_BAD_MKI");
      mki = { value: Number(m[1]), length };
    } else {
      const m = /^(?:2\^(\d{1,2})|(\d{1,15}))$/.exec(field);
      if (m === null || lifetime !== undefined || mki !== undefined) return err("SDES_BAD_LIFETIME");
      lifetime = m[1] !== undefined ? 2 ** Number(m[1]) : Number(m[2]);
    }
  }
  return ok({
    key: raw.subarray(0, SRTP_MASTER_KEY_SIZE),
    salt: raw.subarray(SRTP_MASTER_KEY_SIZE),
    lifetime,
    mki,
  });
}

/** The first usable key of a parsed `a=crypto` attribute, with its profile. */
export function sdesKeyOf(c: CryptoAttribute): Result<{ profile: SrtpProfile; key: SdesKey }, SdesKeyError> {
  const profile = srtpProfileOf(c.suite);
  if (profile === undefined) return err("SDES_UNKNOWN_SUITE");
  const first = c.keyParams[0];
  if (first === undefined) return err("SDES_BAD_KEY_PARAM");
  const key = parseSdesKeyParam(first);
  return key.ok ? ok({ profile, key: key.value }) : key;
}

/** Formats a key as an `inline:` parameter (lifetime as 2^n when it is a power of two). */
export function formatSdesKeyParam(key: SdesKey): string {
  let s = INLINE_PREFIX + Buffer.concat([key.key, key.salt]).toString("base64");
  if (key.lifetime !== undefined) {
    const n = Math.log2(key.lifetime);
    s += "|" + (Number.isInteger(n) ? `2^${n}` : String(key.lifetime));
  }
  if (key.mki !== undefined) s += `|${key.mki.value}:${key.mki.length}`;
  return s;
}

/** A crypto attribute offering `key` under `profile`, ready for the sdp layer's formatCrypto(). */
export function sdesCryptoAttribute(tag: number, profile: SrtpProfile, key: SdesKey): CryptoAttribute {
  return { tag, suite: profile, keyParams: [formatSdesKeyParam(key)], sessionParams: [] };
}

/** A fresh random master key and salt. */
export function generateSrtpMasterKey(): SrtpMasterKey {
  const raw = randomBytes(SRTP_MASTER_KEY_SIZE + SRTP_MASTER_SALT_SIZE);
  return { key: raw.subarray(0, SRTP_MASTER_KEY_SIZE), salt: raw.subarray(SRTP_MASTER_KEY_SIZE) };
}
