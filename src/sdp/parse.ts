import { type Result, ok, err } from "../lib/index.ts";
import type {
  Attribute,
  Bandwidth,
  Connection,
  MediaDescription,
  Origin,
  SdpParseError,
  SdpParseErrorCode,
  SessionDescription,
} from "./types.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface MediaDraft {
  type: string;
  port: number;
  portCount?: number;
  protocol: string;
  formats: string[];
  information?: string;
  connections: Connection[];
  bandwidths: Bandwidth[];
  key?: string;
  attributes: Attribute[];
}

interface TimingDraft {
  start: number;
  stop: number;
  repeats: string[];
}

const KNOWN_TYPES = new Set(["v", "o", "s", "i", "u", "e", "p", "c", "b", "t", "r", "z", "k", "a", "m"]);
const SESSION_ONLY = new Set(["v", "o", "s", "u", "e", "p", "t", "r", "z"]);
const UINT = /^\d+$/;

class ParseFailure {
  constructor(readonly error: SdpParseError) {}
}

function fail(code: SdpParseErrorCode, message: string, line?: number): never {
  // Thrown only inside this module and caught in parseSdp, so callers never see it.
  throw new ParseFailure(line === undefined ? { code, message } : { code, message, line });
}

/** Parses an SDP body (CRLF or bare LF line ends); never throws on bad input. */
export function parseSdp(text: string): Result<SessionDescription, SdpParseError> {
  try {
    return ok(parseOrFail(text));
  } catch (e) {
    if (e instanceof ParseFailure) return err(e.error);
    throw e;
  }
}

function parseOrFail(text: string): SessionDescription {
  const rawLines = text.split(/\r?\n/);
  // A terminated body ends with an empty piece; blank lines inside are tolerated and dropped.
  const lines: { type: string; value: string; no: number }[] = [];
  rawLines.forEach((raw, i) => {
    if (raw === "") return;
    if (raw.length < 2 || raw[1] !== "=" || !/^[a-z]$/.test(raw[0] ?? "")) {
      fail("SDP_BAD_LINE", `line ${i + 1} is not <type>=<value>: ${JSON.stringify(raw.slice(0, 40))}`, i + 1);
    }
    lines.push({ type: raw[0] as string, value: raw.slice(2), no: i + 1 });
  });
  if (lines.length === 0) fail("SDP_EMPTY", "empty session description");

  const first = lines[0];
  if (first === undefined || first.type !== "v") fail("SDP_MISSING_LINE", "the first line must be v=", first?.no);
  if (first.value !== "0") fail("SDP_BAD_VERSION", `unsupported SDP version ${JSON.stringify(first.value)}`, first.no);

  const session: Partial<Mutable<SessionDescription>> & {
    emails: string[];
    phones: string[];
    bandwidths: Bandwidth[];
    timings: TimingDraft[];
    attributes: Attribute[];
    media: MediaDraft[];
  } = { version: 0, emails: [], phones: [], bandwidths: [], timings: [], attributes: [], media: [] };
  let current: MediaDraft | undefined;

  for (const { type, value, no } of lines.slice(1)) {
    if (type === "m") {
      current = parseMediaLine(value, no);
      session.media.push(current);
      continue;
    }
    if (!KNOWN_TYPES.has(type)) {
      // RFC 8866 lets a parser ignore what it does not know; a relay keeps it in place instead.
      (current ?? session).attributes.push({ kind: "line", type, value });
      continue;
    }
    if (type === "a") {
      (current ?? session).attributes.push(parseAttributeLine(value));
      continue;
    }
    if (current !== undefined) {
      if (SESSION_ONLY.has(type)) fail("SDP_MISPLACED_LINE", `${type}= is not allowed in a media section`, no);
      switch (type) {
        case "i":
          if (current.information !== undefined) fail("SDP_MISPLACED_LINE", "repeated i= in a media section", no);
          current.information = value;
          break;
        case "c":
          current.connections.push(parseConnection(value, no));
          break;
        case "b":
          current.bandwidths.push(parseBandwidth(value, no));
          break;
        case "k":
          current.key = value;
          break;
      }
      continue;
    }
    switch (type) {
      case "v":
        fail("SDP_MISPLACED_LINE", "repeated v=", no);
        break;
      case "o":
        if (session.origin !== undefined) fail("SDP_MISPLACED_LINE", "repeated o=", no);
        session.origin = parseOrigin(value, no);
        break;
      case "s":
        if (session.sessionName !== undefined) fail("SDP_MISPLACED_LINE", "repeated s=", no);
        session.sessionName = value;
        break;
      case "i":
        session.information = value;
        break;
      case "u":
        session.uri = value;
        break;
      case "e":
        session.emails.push(value);
        break;
      case "p":
        session.phones.push(value);
        break;
      case "c":
        if (session.connection !== undefined) fail("SDP_MISPLACED_LINE", "repeated session-level c=", no);
        session.connection = parseConnection(value, no);
        break;
      case "b":
        session.bandwidths.push(parseBandwidth(value, no));
        break;
      case "t":
        session.timings.push(parseTiming(value, no));
        break;
      case "r": {
        const last = session.timings[session.timings.length - 1];
        if (last === undefined) fail("SDP_MISPLACED_LINE", "r= before any t=", no);
        last.repeats.push(value);
        break;
      }
      case "z":
        session.zone = value;
        break;
      case "k":
        session.key = value;
        break;
    }
  }

  if (session.origin === undefined) fail("SDP_MISSING_LINE", "missing o= line");
  if (session.sessionName === undefined) fail("SDP_MISSING_LINE", "missing s= line");
  if (session.timings.length === 0) fail("SDP_MISSING_LINE", "missing t= line");
  return session as SessionDescription;
}

function fields(value: string): string[] {
  return value.split(" ").filter((f) => f !== "");
}

function parseOrigin(value: string, no: number): Origin {
  const f = fields(value);
  if (f.length !== 6) fail("SDP_BAD_ORIGIN", "o= needs 6 fields", no);
  const [username, sessionId, sessionVersion, netType, addrType, address] = f as [string, string, string, string, string, string];
  if (!UINT.test(sessionId) || !UINT.test(sessionVersion)) fail("SDP_BAD_ORIGIN", "o= session id and version must be numbers", no);
  return { username, sessionId, sessionVersion, netType, addrType, address };
}

/** Parses the value of a `c=` line; undefined when malformed. */
export function parseConnectionValue(value: string): Connection | undefined {
  const f = fields(value);
  if (f.length !== 3) return undefined;
  const [netType, addrType, full] = f as [string, string, string];
  const [address, ...suffix] = full.split("/");
  if (address === undefined || address === "" || suffix.length > 2 || !suffix.every((s) => UINT.test(s))) return undefined;
  const nums = suffix.map(Number);
  // RFC 8866 5.7: IP4 multicast carries /ttl[/count]; IP6 has no TTL, only /count.
  if (addrType === "IP6") {
    if (nums.length > 1) return undefined;
    return nums[0] === undefined ? { netType, addrType, address } : { netType, addrType, address, count: nums[0] };
  }
  const c: Mutable<Connection> = { netType, addrType, address };
  if (nums[0] !== undefined) c.ttl = nums[0];
  if (nums[1] !== undefined) c.count = nums[1];
  return c;
}

function parseConnection(value: string, no: number): Connection {
  const c = parseConnectionValue(value);
  if (c === undefined) fail("SDP_BAD_CONNECTION", `bad c= line ${JSON.stringify(value)}`, no);
  return c;
}

function parseBandwidth(value: string, no: number): Bandwidth {
  const i = value.indexOf(":");
  const amount = value.slice(i + 1);
  if (i <= 0 || !UINT.test(amount)) fail("SDP_BAD_BANDWIDTH", `bad b= line ${JSON.stringify(value)}`, no);
  return { type: value.slice(0, i), value: Number(amount) };
}

function parseTiming(value: string, no: number): TimingDraft {
  const f = fields(value);
  if (f.length !== 2 || !f.every((x) => UINT.test(x))) fail("SDP_BAD_TIMING", `bad t= line ${JSON.stringify(value)}`, no);
  return { start: Number(f[0]), stop: Number(f[1]), repeats: [] };
}

function parseMediaLine(value: string, no: number): MediaDraft {
  const f = fields(value);
  if (f.length < 3) fail("SDP_BAD_MEDIA", "m= needs media, port and protocol", no);
  const [type, portText, protocol, ...formats] = f as [string, string, string, ...string[]];
  const [p, count, ...rest] = portText.split("/");
  if (p === undefined || !UINT.test(p) || Number(p) > 65535 || rest.length > 0 || (count !== undefined && !UINT.test(count))) {
    fail("SDP_BAD_MEDIA", `bad m= port ${JSON.stringify(portText)}`, no);
  }
  const m: MediaDraft = { type, port: Number(p), protocol, formats, connections: [], bandwidths: [], attributes: [] };
  if (count !== undefined) m.portCount = Number(count);
  return m;
}

function parseAttributeLine(value: string): Attribute {
  const i = value.indexOf(":");
  if (i < 0) return { kind: "attribute", name: value, value: null };
  return { kind: "attribute", name: value.slice(0, i), value: value.slice(i + 1) };
}
