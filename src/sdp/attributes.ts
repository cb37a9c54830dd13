import type { Attribute, Direction, MediaDescription, SessionDescription } from "./types.ts";

/** `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` */
export interface Rtpmap {
  readonly payloadType: number;
  readonly encodingName: string;
  readonly clockRate: number;
  readonly channels?: number;
}

/** `a=fmtp:<format> <format specific parameters>` */
export interface Fmtp {
  readonly format: string;
  readonly parameters: string;
}

/** RFC 3605 `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` */
export interface RtcpAttribute {
  readonly port: number;
  readonly netType?: string;
  readonly addrType?: string;
  readonly address?: string;
}

/** RFC 4568 `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]` */
export interface CryptoAttribute {
  readonly tag: number;
  readonly suite: string;
  /** Each `inline:<key||salt>[|lifetime][|MKI:length]`, split on ";". */
  readonly keyParams: readonly string[];
  readonly sessionParams: readonly string[];
}

/** ICE attributes (RFC 8839) are carried, not interpreted: the relay strips or passes them. */
export interface IceAttributes {
  readonly ufrag?: string;
  readonly pwd?: string;
  readonly candidates: readonly string[];
}

const DIRECTIONS: ReadonlySet<string> = new Set(["sendrecv", "sendonly", "recvonly", "inactive"]);
const UINT = /^\d+$/;

/** Builds an attribute; null value means a flag such as `a=rtcp-mux`. */
export function attribute(name: string, value: string | null = null): Attribute {
  return { kind: "attribute", name, value };
}

/** Values of every `a=<name>` in the list, in order (null for flags). */
export function attributeValues(list: readonly Attribute[], name: string): (string | null)[] {
  const out: (string | null)[] = [];
  for (const a of list) if (a.kind === "attribute" && a.name === name) out.push(a.value);
  return out;
}

/** Value of the first `a=<name>:value`; undefined when absent or a flag. */
export function attributeValue(list: readonly Attribute[], name: string): string | undefined {
  for (const a of list) if (a.kind === "attribute" && a.name === name && a.value !== null) return a.value;
  return undefined;
}

/** Whether an `a=<name>` (flag or valued) is present. */
export function hasAttribute(list: readonly Attribute[], name: string): boolean {
  return list.some((a) => a.kind === "attribute" && a.name === name);
}

/** Parses an rtpmap value; undefined when malformed. */
export function parseRtpmap(value: string): Rtpmap | undefined {
  const m = /^(\d+) +([^/\s]+)\/(\d+)(?:\/(\d+))?\s*$/.exec(value);
  if (m === null) return undefined;
  const base = { payloadType: Number(m[1]), encodingName: m[2] as string, clockRate: Number(m[3]) };
  return m[4] === undefined ? base : { ...base, channels: Number(m[4]) };
}

/** Formats an rtpmap value. */
export function formatRtpmap(r: Rtpmap): string {
  const ch = r.channels === undefined ? "" : `/${r.channels}`;
  return `${r.payloadType} ${r.encodingName}/${r.clockRate}${ch}`;
}

/** Parses an fmtp value; undefined when malformed. */
export function parseFmtp(value: string): Fmtp | undefined {
  const i = value.indexOf(" ");
  if (i <= 0) return undefined;
  return { format: value.slice(0, i), parameters: value.slice(i + 1) };
}

/** Splits `a=b;c=d` fmtp parameters into a map (names lower-cased; values as written). */
export function fmtpParameters(parameters: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of parameters.split(";")) {
    const p = part.trim();
    if (p === "") continue;
    const eq = p.indexOf("=");
    if (eq < 0) out.set(p.toLowerCase(), "");
    else out.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
  }
  return out;
}

/** Parses an RFC 3605 rtcp value; undefined when malformed. */
export function parseRtcp(value: string): RtcpAttribute | undefined {
  const f = value.split(" ").filter((x) => x !== "");
  const port = f[0];
  if (port === undefined || !UINT.test(port) || Number(port) > 65535) return undefined;
  if (f.length === 1) return { port: Number(port) };
  if (f.length !== 4) return undefined;
  return { port: Number(port), netType: f[1] as string, addrType: f[2] as string, address: f[3] as string };
}

/** Formats an RFC 3605 rtcp value. */
export function formatRtcp(r: RtcpAttribute): string {
  if (r.address === undefined) return `${r.port}`;
  return `${r.port} ${r.netType ?? "IN"} ${r.addrType ?? "IP4"} ${r.address}`;
}

/** Parses an RFC 4568 crypto value; undefined when malformed. */
export function parseCrypto(value: string): CryptoAttribute | undefined {
  const f = value.split(" ").filter((x) => x !== "");
  const [tag, suite, keys, ...session] = f;
  if (tag === undefined || !/^\d{1,9}$/.test(tag) || suite === undefined || keys === undefined) return undefined;
  const keyParams = keys.split(";");
  if (!keyParams.every((k) => k.startsWith("inline:") && k.length > 7)) return undefined;
  return { tag: Number(tag), suite, keyParams, sessionParams: session };
}

/** Formats an RFC 4568 crypto value. */
export function formatCrypto(c: CryptoAttribute): string {
  return [String(c.tag), c.suite, c.keyParams.join(";"), ...c.sessionParams].join(" ");
}

/** The direction attribute written in a list, if any. */
export function directionIn(list: readonly Attribute[]): Direction | undefined {
  for (const a of list) if (a.kind === "attribute" && a.value === null && DIRECTIONS.has(a.name)) return a.name as Direction;
  return undefined;
}

/** A stream's declared direction: media level, else session level, else sendrecv (RFC 3264 5.1). */
export function mediaDirection(media: MediaDescription, session: SessionDescription): Direction {
  return directionIn(media.attributes) ?? directionIn(session.attributes) ?? "sendrecv";
}

/** Replaces (or adds) the direction attribute of a list, keeping the position of the old one. */
export function withDirection(list: readonly Attribute[], direction: Direction): Attribute[] {
  const i = list.findIndex((a) => a.kind === "attribute" && a.value === null && DIRECTIONS.has(a.name));
  const next = [...list];
  if (i < 0) next.push(attribute(direction));
  else next[i] = attribute(direction);
  return next;
}

/** Removes every direction attribute from a list. */
export function withoutDirection(list: readonly Attribute[]): Attribute[] {
  return list.filter((a) => !(a.kind === "attribute" && a.value === null && DIRECTIONS.has(a.name)));
}

/** The direction seen from the other end: what I send, you receive. */
export function reverseDirection(d: Direction): Direction {
  if (d === "sendonly") return "recvonly";
  if (d === "recvonly") return "sendonly";
  return d;
}

/** The most that both directions allow (sending needs both to agree, likewise receiving). */
export function intersectDirection(a: Direction, b: Direction): Direction {
  const send = canSend(a) && canSend(b);
  const recv = canReceive(a) && canReceive(b);
  if (send && recv) return "sendrecv";
  if (send) return "sendonly";
  if (recv) return "recvonly";
  return "inactive";
}

function canSend(d: Direction): boolean {
  return d === "sendrecv" || d === "sendonly";
}

function canReceive(d: Direction): boolean {
  return d === "sendrecv" || d === "recvonly";
}

/** `a=ptime` in milliseconds, if present and numeric. */
export function ptimeOf(media: MediaDescription): number | undefined {
  return numberAttribute(media.attributes, "ptime");
}

/** `a=maxptime` in milliseconds, if present and numeric. */
export function maxptimeOf(media: MediaDescription): number | undefined {
  return numberAttribute(media.attributes, "maxptime");
}

function numberAttribute(list: readonly Attribute[], name: string): number | undefined {
  const v = attributeValue(list, name);
  // ptime may be fractional in the wild (e.g. 0.125 ms for some video), so accept decimals.
  if (v === undefined || !/^\d+(\.\d+)?$/.test(v.trim())) return undefined;
  return Number(v);
}

/** The RFC 3605 rtcp attribute of a stream, if present and well-formed. */
export function rtcpOf(media: MediaDescription): RtcpAttribute | undefined {
  const v = attributeValue(media.attributes, "rtcp");
  return v === undefined ? undefined : parseRtcp(v);
}

/** Whether a stream offers or accepts RFC 5761 RTP/RTCP multiplexing. */
export function rtcpMuxOf(media: MediaDescription): boolean {
  return hasAttribute(media.attributes, "rtcp-mux");
}

/** Every well-formed RFC 4568 crypto attribute of a stream, in preference order. */
export function cryptosOf(media: MediaDescription): CryptoAttribute[] {
  const out: CryptoAttribute[] = [];
  for (const v of attributeValues(media.attributes, "crypto")) {
    const c = v === null ? undefined : parseCrypto(v);
    if (c !== undefined) out.push(c);
  }
  return out;
}

/** ICE credentials (media level, else session level) and candidates of a stream. */
export function iceOf(media: MediaDescription, session: SessionDescription): IceAttributes {
  const ufrag = attributeValue(media.attributes, "ice-ufrag") ?? attributeValue(session.attributes, "ice-ufrag");
  const pwd = attributeValue(media.attributes, "ice-pwd") ?? attributeValue(session.attributes, "ice-pwd");
  const candidates = attributeValues(media.attributes, "candidate").filter((c): c is string => c !== null);
  return { ...(ufrag === undefined ? {} : { ufrag }), ...(pwd === undefined ? {} : { pwd }), candidates };
}

const ICE_NAMES: ReadonlySet<string> = new Set([
  "ice-ufrag",
  "ice-pwd",
  "ice-options",
  "ice-lite",
  "ice-mismatch",
  "candidate",
  "remote-candidates",
  "end-of-candidates",
]);

/** Whether an attribute belongs to ICE (and so is wrong once media is anchored). */
export function isIceAttribute(a: Attribute): boolean {
  return a.kind === "attribute" && ICE_NAMES.has(a.name);
}
