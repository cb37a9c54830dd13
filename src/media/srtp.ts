import { type Result, ok, err } from "../lib/index.ts";
import { AesCm } from "./aes-cm.ts";
import { u16, u32 } from "./bytes.ts";
import { HmacSha1 } from "./hmac-sha1.ts";
import { rtpPayloadOffset } from "./rtp-packet.ts";

/*
 * SRTP and SRTCP (RFC 3711) for the two SDES suites every SIP trunk peer offers:
 * AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32 (RFC 4568 6.2). Key derivation rate 0,
 * no MKI. Each direction of a call has its own context; a context tracks every SSRC it sees.
 *
 * SRTP packet (RFC 3711 3.1): the RTP header stays clear, the payload is encrypted, and the
 * authentication tag follows:
 *
 *   | RTP header | encrypted payload (and padding) | auth tag (10 or 4 octets) |
 *
 * SRTCP packet (RFC 3711 3.4): the first 8 octets (header and sender SSRC) stay clear, then
 *
 *   | encrypted rest | E (1 bit) | SRTCP index (31 bits) | auth tag (10 octets) |
 */

/** The two crypto suites this layer implements. */
export type SrtpProfile = "AES_CM_128_HMAC_SHA1_80" | "AES_CM_128_HMAC_SHA1_32";

/** Stable codes for a packet SRTP refuses. */
export type SrtpError =
  | "SRTP_BAD_KEY"
  | "SRTP_TOO_SHORT"
  | "SRTP_BAD_HEADER"
  | "SRTP_OUT_TOO_SMALL"
  | "SRTP_AUTH_FAILED"
  | "SRTP_REPLAYED"
  | "SRTP_TOO_OLD";

/** Master key and salt as exchanged in SDES (RFC 4568) or exported by DTLS-SRTP. */
export interface SrtpMasterKey {
  /** 16 octets. */
  readonly key: Uint8Array;
  /** 14 octets. */
  readonly salt: Uint8Array;
}

export const SRTP_MASTER_KEY_SIZE = 16;
export const SRTP_MASTER_SALT_SIZE = 14;
const SESSION_KEY_SIZE = 16;
const SESSION_SALT_SIZE = 14;
const SESSION_AUTH_KEY_SIZE = 20;
const AES_BLOCK_SIZE = 16;

/** RFC 3711 4.3.2 key derivation labels. */
export const SrtpLabel = {
  rtpEncryption: 0x00,
  rtpAuthentication: 0x01,
  rtpSalt: 0x02,
  rtcpEncryption: 0x03,
  rtcpAuthentication: 0x04,
  rtcpSalt: 0x05,
} as const;

// Where the label sits in key_id = label || r, right-aligned in the 112-bit salt (RFC 3711 4.3.1).
const LABEL_OFFSET = 7;
// r (48 bits) and the packet index (48 bits) both occupy octets 8..13 of the 14-octet salt.
const INDEX_OFFSET = 8;
// The SSRC is XORed at bit 64 of the 128-bit IV counted from the right (RFC 3711 4.1.1).
const IV_SSRC_OFFSET = 4;
const SRTCP_INDEX_SIZE = 4;
const SRTCP_ENCRYPTED_FLAG = 0x80000000;
const SRTCP_INDEX_MASK = 0x7fffffff;
const SRTCP_CLEAR_SIZE = 8;
const SRTCP_TAG_SIZE = 10;
const RTP_SEQ_OFFSET = 2;
const RTP_SSRC_OFFSET = 8;
const RTCP_SSRC_OFFSET = 4;
const SEQ_MODULO = 0x10000;
const SEQ_HALF = 0x8000;

/** Authentication tag lengths of SRTP for each profile (SRTCP always uses 80 bits, RFC 4568 6.2.2). */
export function srtpTagSize(profile: SrtpProfile): number {
  return profile === "AES_CM_128_HMAC_SHA1_80" ? 10 : 4;
}

function keystream(key: Uint8Array, iv: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  new AesCm(key).xor(iv, out, out, 0);
  return out;
}

/**
 * The AES-CM PRF of RFC 3711 4.3.3: `length` octets of keystream for `label`; `r` is
 * index DIV key_derivation_rate (0 with the default rate).
 */
export function srtpDeriveKey(master: SrtpMasterKey, label: number, length: number, r = 0): Buffer {
  const iv = new Uint8Array(AES_BLOCK_SIZE);
  iv.set(master.salt.subarray(0, SRTP_MASTER_SALT_SIZE));
  iv[LABEL_OFFSET] = iv[LABEL_OFFSET]! ^ label;
  xorIndex48(iv, INDEX_OFFSET, r);
  return keystream(master.key, iv, length);
}

function xorIndex48(b: Uint8Array, o: number, index: number): void {
  const high = Math.floor(index / 0x100000000);
  const low = index >>> 0;
  b[o] = b[o]! ^ ((high >>> 8) & 0xff);
  b[o + 1] = b[o + 1]! ^ (high & 0xff);
  b[o + 2] = b[o + 2]! ^ (low >>> 24);
  b[o + 3] = b[o + 3]! ^ ((low >>> 16) & 0xff);
  b[o + 4] = b[o + 4]! ^ ((low >>> 8) & 0xff);
  b[o + 5] = b[o + 5]! ^ (low & 0xff);
}

/**
 * RFC 3711 4.1.1 IV: (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), with the 48-bit index i
 * given as its high 32 and low 16 bits.
 */
function writeIv(iv: Uint8Array, salt: Uint8Array, ssrc: number, indexHigh32: number, indexLow16: number): void {
  iv.set(salt.subarray(0, SESSION_SALT_SIZE));
  iv[14] = 0;
  iv[15] = 0;
  iv[IV_SSRC_OFFSET] = iv[IV_SSRC_OFFSET]! ^ (ssrc >>> 24);
  iv[IV_SSRC_OFFSET + 1] = iv[IV_SSRC_OFFSET + 1]! ^ ((ssrc >>> 16) & 0xff);
  iv[IV_SSRC_OFFSET + 2] = iv[IV_SSRC_OFFSET + 2]! ^ ((ssrc >>> 8) & 0xff);
  iv[IV_SSRC_OFFSET + 3] = iv[IV_SSRC_OFFSET + 3]! ^ (ssrc & 0xff);
  iv[8] = iv[8]! ^ (indexHigh32 >>> 24);
  iv[9] = iv[9]! ^ ((indexHigh32 >>> 16) & 0xff);
  iv[10] = iv[10]! ^ ((indexHigh32 >>> 8) & 0xff);
  iv[11] = iv[11]! ^ (indexHigh32 & 0xff);
  iv[12] = iv[12]! ^ ((indexLow16 >>> 8) & 0xff);
  iv[13] = iv[13]! ^ (indexLow16 & 0xff);
}

/** AES-CM keystream for one packet (RFC 3711 4.1.1): `length` octets for `ssrc` and 48-bit `index`. */
export function srtpKeystream(sessionKey: Uint8Array, sessionSalt: Uint8Array, ssrc: number, index: number, length: number): Buffer {
  const iv = new Uint8Array(AES_BLOCK_SIZE);
  writeIv(iv, sessionSalt, ssrc >>> 0, Math.floor(index / SEQ_MODULO) >>> 0, index % SEQ_MODULO);
  return keystream(sessionKey, iv, length);
}

/** Session keys for one of RTP or RTCP. */
export interface SrtpSessionKeys {
  readonly encryption: Buffer;
  readonly authentication: Buffer;
  readonly salt: Buffer;
}

/** Derives the three session keys for RTP (labels 0-2) or RTCP (labels 3-5). */
export function srtpSessionKeys(master: SrtpMasterKey, rtcp: boolean): SrtpSessionKeys {
  const base = rtcp ? SrtpLabel.rtcpEncryption : SrtpLabel.rtpEncryption;
  return {
    encryption: srtpDeriveKey(master, base, SESSION_KEY_SIZE),
    authentication: srtpDeriveKey(master, base + 1, SESSION_AUTH_KEY_SIZE),
    salt: srtpDeriveKey(master, base + 2, SESSION_SALT_SIZE),
  };
}

/**
 * The sliding replay window of RFC 3711 3.3.2 as a ring of flags indexed by packet index, so
 * advancing never shifts a bitmap.
 */
export class ReplayWindow {
  readonly size: number;
  #highest = -1;
  readonly #seen: Uint8Array;

  constructor(size: number) {
    this.size = size;
    this.#seen = new Uint8Array(size);
  }

  /** Whether `index` may be accepted, before authentication succeeds. */
  check(index: number): "ok" | "SRTP_REPLAYED" | "SRTP_TOO_OLD" {
    if (index > this.#highest) return "ok";
    if (this.#highest - index >= this.size) return "SRTP_TOO_OLD";
    return this.#seen[index % this.size] === 1 ? "SRTP_REPLAYED" : "ok";
  }

  /** Records an authenticated index. */
  accept(index: number): void {
    if (index > this.#highest) {
      const gap = Math.min(index - this.#highest - 1, this.size);
      for (let i = 1; i <= gap; i++) this.#seen[(this.#highest + i) % this.size] = 0;
      this.#highest = index;
    }
    this.#seen[index % this.size] = 1;
  }
}

interface RtpStreamState {
  roc: number;
  /** s_l of RFC 3711 3.3.1: highest sequence number seen (authenticated) with this ROC. */
  lastSeq: number;
  readonly replay: ReplayWindow;
}

interface RtcpStreamState {
  nextIndex: number;
  readonly replay: ReplayWindow;
}

/** Options for an SRTP context. */
export interface SrtpContextOptions {
  /** Replay window in packets; RFC 3711 asks for at least 64. Default 128. */
  readonly replayWindow?: number;
}

interface CompiledKeys {
  readonly cipher: AesCm;
  readonly mac: HmacSha1;
  readonly salt: Buffer;
}

function compile(keys: SrtpSessionKeys): CompiledKeys {
  return { cipher: new AesCm(keys.encryption), mac: new HmacSha1(keys.authentication), salt: keys.salt };
}

/** Checks sizes and builds a context; the only way to get one. */
export function createSrtpContext(
  profile: SrtpProfile,
  master: SrtpMasterKey,
  options: SrtpContextOptions = {},
): Result<SrtpContext, SrtpError> {
  if (master.key.length !== SRTP_MASTER_KEY_SIZE || master.salt.length !== SRTP_MASTER_SALT_SIZE) {
    return err("SRTP_BAD_KEY");
  }
  const window = options.replayWindow ?? 128;
  if (!Number.isInteger(window) || window < 64) return err("SRTP_BAD_KEY");
  return ok(new SrtpContext(profile, master, window));
}

/**
 * One direction's SRTP and SRTCP crypto state: protect on the sending side, unprotect on the
 * receiving side. Tracks ROC, replay window and SRTCP index per SSRC.
 */
export class SrtpContext {
  readonly profile: SrtpProfile;
  readonly tagSize: number;
  readonly #rtp: CompiledKeys;
  readonly #rtcp: CompiledKeys;
  readonly #window: number;
  readonly #rtpStreams = new Map<number, RtpStreamState>();
  readonly #rtcpStreams = new Map<number, RtcpStreamState>();
  // Scratch reused by every packet.
  readonly #iv = new Uint8Array(AES_BLOCK_SIZE);

  /** Use createSrtpContext(), which checks the key sizes. */
  constructor(profile: SrtpProfile, master: SrtpMasterKey, replayWindow: number) {
    this.profile = profile;
    this.tagSize = srtpTagSize(profile);
    this.#rtp = compile(srtpSessionKeys(master, false));
    this.#rtcp = compile(srtpSessionKeys(master, true));
    this.#window = replayWindow;
  }

  #rtpState(ssrc: number, seq: number): RtpStreamState {
    let s = this.#rtpStreams.get(ssrc);
    if (s === undefined) {
      s = { roc: 0, lastSeq: seq, replay: new ReplayWindow(this.#window) };
      this.#rtpStreams.set(ssrc, s);
    }
    return s;
  }

  /** RFC 3711 3.3.1 / Appendix A: the ROC guess v for sequence number `seq`. */
  static estimateRoc(roc: number, lastSeq: number, seq: number): number {
    if (lastSeq < SEQ_HALF) return seq - lastSeq > SEQ_HALF ? roc - 1 : roc;
    return lastSeq - SEQ_HALF > seq ? roc + 1 : roc;
  }

  #setIv(salt: Uint8Array, ssrc: number, indexHigh32: number, indexLow16: number): Uint8Array {
    writeIv(this.#iv, salt, ssrc, indexHigh32, indexLow16);
    return this.#iv;
  }

  /**
   * Encrypts and authenticates one RTP packet (exactly `packet.length` octets) into `out`, which
   * may share memory with `packet` for in-place work and needs room for the tag. Returns the
   * SRTP length.
   */
  protectRtp(packet: Uint8Array, out: Uint8Array): Result<number, SrtpError> {
    const length = packet.length;
    const header = rtpPayloadOffset(packet, length);
    if (header < 0) return err("SRTP_BAD_HEADER");
    if (out.length < length + this.tagSize) return err("SRTP_OUT_TOO_SMALL");
    const seq = u16(packet, RTP_SEQ_OFFSET);
    const ssrc = u32(packet, RTP_SSRC_OFFSET);
    const state = this.#rtpState(ssrc, seq);
    const v = SrtpContext.estimateRoc(state.roc, state.lastSeq, seq);
    if (v > state.roc) {
      state.roc = v;
      state.lastSeq = seq;
    } else if (v === state.roc && seq > state.lastSeq) {
      state.lastSeq = seq;
    }
    const roc = v >>> 0;
    if (!sameStart(packet, out)) out.set(packet.subarray(0, header));
    this.#rtp.cipher.xor(this.#setIv(this.#rtp.salt, ssrc, roc, seq), packet.subarray(header), out, header);
    this.#rtp.mac.mac(out.subarray(0, length), roc, out, length, this.tagSize);
    return ok(length + this.tagSize);
  }

  /**
   * Authenticates, checks for replay and decrypts one SRTP packet into `out` (which may share
   * memory with `packet`). Returns the RTP length. State changes only for authentic packets.
   */
  unprotectRtp(packet: Uint8Array, out: Uint8Array): Result<number, SrtpError> {
    const length = packet.length - this.tagSize;
    if (length < 12) return err("SRTP_TOO_SHORT");
    const header = rtpPayloadOffset(packet, length);
    if (header < 0) return err("SRTP_BAD_HEADER");
    if (out.length < length) return err("SRTP_OUT_TOO_SMALL");
    const seq = u16(packet, RTP_SEQ_OFFSET);
    const ssrc = u32(packet, RTP_SSRC_OFFSET);
    const known = this.#rtpStreams.get(ssrc);
    const roc0 = known?.roc ?? 0;
    const v = known === undefined ? 0 : SrtpContext.estimateRoc(known.roc, known.lastSeq, seq);
    if (v < 0) return err("SRTP_TOO_OLD");
    const index = v * SEQ_MODULO + seq;
    if (known !== undefined) {
      const replay = known.replay.check(index);
      if (replay !== "ok") return err(replay);
    }
    const roc = v >>> 0;
    if (!this.#rtp.mac.verify(packet.subarray(0, length), roc, packet.subarray(length, length + this.tagSize))) {
      return err("SRTP_AUTH_FAILED");
    }
    if (!sameStart(packet, out)) out.set(packet.subarray(0, header));
    this.#rtp.cipher.xor(this.#setIv(this.#rtp.salt, ssrc, roc, seq), packet.subarray(header, length), out, header);
    const state = known ?? this.#rtpState(ssrc, seq);
    if (v > roc0) {
      state.roc = v;
      state.lastSeq = seq;
    } else if (v === roc0 && seq > state.lastSeq) {
      state.lastSeq = seq;
    }
    state.replay.accept(index);
    return ok(length);
  }

  /**
   * Encrypts and authenticates one (compound) RTCP packet into `out`, which may share memory
   * with `packet` and needs 14 more octets. Returns the SRTCP length.
   */
  protectRtcp(packet: Uint8Array, out: Uint8Array): Result<number, SrtpError> {
    const length = packet.length;
    if (length < SRTCP_CLEAR_SIZE) return err("SRTP_TOO_SHORT");
    if (out.length < length + SRTCP_INDEX_SIZE + SRTCP_TAG_SIZE) return err("SRTP_OUT_TOO_SMALL");
    const ssrc = u32(packet, RTCP_SSRC_OFFSET);
    let state = this.#rtcpStreams.get(ssrc);
    if (state === undefined) {
      state = { nextIndex: 0, replay: new ReplayWindow(this.#window) };
      this.#rtcpStreams.set(ssrc, state);
    }
    const index = state.nextIndex;
    state.nextIndex = (index + 1) & SRTCP_INDEX_MASK;
    if (!sameStart(packet, out)) out.set(packet.subarray(0, SRTCP_CLEAR_SIZE));
    const iv = this.#setIv(this.#rtcp.salt, ssrc, index >>> 16, index & 0xffff);
    this.#rtcp.cipher.xor(iv, packet.subarray(SRTCP_CLEAR_SIZE), out, SRTCP_CLEAR_SIZE);
    const word = (SRTCP_ENCRYPTED_FLAG | index) >>> 0;
    out[length] = word >>> 24;
    out[length + 1] = (word >>> 16) & 0xff;
    out[length + 2] = (word >>> 8) & 0xff;
    out[length + 3] = word & 0xff;
    this.#rtcp.mac.mac(out.subarray(0, length + SRTCP_INDEX_SIZE), undefined, out, length + SRTCP_INDEX_SIZE, SRTCP_TAG_SIZE);
    return ok(length + SRTCP_INDEX_SIZE + SRTCP_TAG_SIZE);
  }

  /** Authenticates, checks for replay and decrypts one SRTCP packet into `out`; returns the RTCP length. */
  unprotectRtcp(packet: Uint8Array, out: Uint8Array): Result<number, SrtpError> {
    const authenticated = packet.length - SRTCP_TAG_SIZE;
    const length = authenticated - SRTCP_INDEX_SIZE;
    if (length < SRTCP_CLEAR_SIZE) return err("SRTP_TOO_SHORT");
    if (out.length < length) return err("SRTP_OUT_TOO_SMALL");
    const ssrc = u32(packet, RTCP_SSRC_OFFSET);
    const word = u32(packet, length);
    const index = word & SRTCP_INDEX_MASK;
    const state = this.#rtcpStreams.get(ssrc);
    if (state !== undefined) {
      const replay = state.replay.check(index);
      if (replay !== "ok") return err(replay);
    }
    if (!this.#rtcp.mac.verify(packet.subarray(0, authenticated), undefined, packet.subarray(authenticated))) {
      return err("SRTP_AUTH_FAILED");
    }
    if (!sameStart(packet, out)) out.set(packet.subarray(0, length));
    if ((word & SRTCP_ENCRYPTED_FLAG) !== 0) {
      const iv = this.#setIv(this.#rtcp.salt, ssrc, index >>> 16, index & 0xffff);
      this.#rtcp.cipher.xor(iv, out.subarray(SRTCP_CLEAR_SIZE, length), out, SRTCP_CLEAR_SIZE);
    }
    let s = state;
    if (s === undefined) {
      s = { nextIndex: 0, replay: new ReplayWindow(this.#window) };
      this.#rtcpStreams.set(ssrc, s);
    }
    s.replay.accept(index);
    return ok(length);
  }
}

function sameStart(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}
