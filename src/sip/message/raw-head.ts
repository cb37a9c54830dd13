import { NO_PARAMS } from "./chars.ts";
import type { HeaderField, NameAddr, OtherUri, Params, SipMessage, SipUri, TelUri, Uri, Via } from "./types.ts";

/**
 * The received text of a parsed message's header section, kept so the serializer can write the
 * headers nobody changed as they arrived instead of rendering them again from the typed fields.
 *
 * The typed fields stay the truth: at parse time every field's leaf values (strings, numbers,
 * list lengths, parameter names and values) are recorded in order on a tape, and at serialize
 * time a field whose leaves still match its tape segment is written from its received lines;
 * any other field is rendered. Comparing leaves is several times cheaper than rendering them.
 */
export interface RawHead {
  /** The decoded text whose first `end` characters are the header section (start line through the last header line, no empty line). */
  readonly text: string;
  /** Where the header section ends in `text`. */
  readonly end: number;
  /** Index just past the start line's CRLF. */
  readonly startEnd: number;
  /** Where the line table starts on the tape: per header line, its start times LINE_START plus its Field (plus FOLDED_LINE); a line ends where the next starts, the last at `end`. */
  readonly lines: number;
  /** Where the line table ends on the tape. */
  readonly linesEnd: number;
  /** Bit f set: a line of hot field f was folded, so its text is not the value; such a field is always rendered. */
  readonly folded: number;
  /** Entries 0..Field.Count: where each field's segment of leaves starts (the last closes the last segment); then the leaves, in Field order; then the line table. */
  readonly tape: unknown[];
  /**
   * The datagram whose bytes wire[wireStart..wireEnd) are exactly what the serializer would
   * write while every field is clean and the body is still `wireBody` (no folding, CRLF line
   * ends, one canonical Content-Length as the last header); null when they would differ.
   * Set by parseMessage after the body is attached.
   */
  wire: Buffer | null;
  wireStart: number;
  wireEnd: number;
  wireBody: Buffer | null;
}

/** Added to the field of a line-table entry for a folded line of an other header: its text is not its value. */
export const FOLDED_LINE = 16;

/** A line-table entry is start * LINE_START + field: one number per header line. */
export const LINE_START = 32;

/**
 * The fields of a message, as tape segments. The numbers of Via..ContentLength are those of
 * header-names' Hot enum, so a line's hot key is its field.
 */
export const enum Field {
  StartLine = 0,
  Via = 1,
  From = 2,
  To = 3,
  CallId = 4,
  CSeq = 5,
  Contact = 6,
  Route = 7,
  RecordRoute = 8,
  MaxForwards = 9,
  ContentType = 10,
  ContentLength = 11,
  Headers = 12,
  Count = 13,
}

// Private-field carrier: a base constructor that returns its argument lets a subclass stamp a
// private field onto an existing plain object. The field is invisible to property enumeration,
// spread, JSON and deep equality, so a parsed message stays a plain object equal to one built
// by hand, and a copy made by spreading it carries no stale raw text.
class Carrier {
  constructor(o: object) {
    return o;
  }
}

class Stamped extends Carrier {
  #raw: RawHead;
  constructor(m: SipMessage, raw: RawHead) {
    super(m);
    this.#raw = raw;
  }

  static read(m: SipMessage): RawHead | undefined {
    return #raw in m ? (m as unknown as Stamped).#raw : undefined;
  }
}

/** The received text of a parsed message, or undefined for a built (or copied) one. */
export function rawHeadOf(m: SipMessage): RawHead | undefined {
  return Stamped.read(m);
}

// Ends a parameter list on the tape, so an added parameter cannot line up with the next leaf.
const END = Symbol("end of params");

// Each kind of value has a recorder, which writes its leaves at t[i..] and returns the next
// index, and a checker, which compares them with t[i..] and returns the next index or -1 at the
// first difference. Each pair is written side by side, leaf for leaf: what is checked is
// exactly what was recorded.

function recParams(t: unknown[], i: number, p: Params): number {
  if (p === NO_PARAMS) {
    t[i] = p;
    return i + 1;
  }
  for (const k in p) {
    t[i++] = k;
    t[i++] = p[k];
  }
  t[i] = END;
  return i + 1;
}

function chkParams(t: unknown[], i: number, p: Params): number {
  if (p === NO_PARAMS) return t[i] === p ? i + 1 : -1;
  for (const k in p) {
    if (t[i] !== k || t[i + 1] !== p[k]) return -1;
    i += 2;
  }
  return t[i] === END ? i + 1 : -1;
}

function recUri(t: unknown[], i: number, u: Uri): number {
  const scheme = u.scheme;
  t[i++] = scheme;
  if (scheme === "sip" || scheme === "sips") {
    const s = u as SipUri;
    t[i++] = s.user;
    t[i++] = s.password;
    t[i++] = s.host;
    t[i++] = s.port;
    i = recParams(t, i, s.params);
    const h = s.headers;
    t[i++] = h.length;
    for (let k = 0; k < h.length; k++) {
      t[i++] = h[k]![0];
      t[i++] = h[k]![1];
    }
    return i;
  }
  if (scheme === "tel") {
    t[i++] = (u as TelUri).number;
    return recParams(t, i, (u as TelUri).params);
  }
  t[i] = (u as OtherUri).opaque;
  return i + 1;
}

function chkUri(t: unknown[], i: number, u: Uri): number {
  const scheme = u.scheme;
  if (t[i++] !== scheme) return -1;
  if (scheme === "sip" || scheme === "sips") {
    const s = u as SipUri;
    if (t[i] !== s.user || t[i + 1] !== s.password || t[i + 2] !== s.host || t[i + 3] !== s.port) return -1;
    i = chkParams(t, i + 4, s.params);
    if (i < 0) return -1;
    const h = s.headers;
    if (t[i++] !== h.length) return -1;
    for (let k = 0; k < h.length; k++) {
      if (t[i] !== h[k]![0] || t[i + 1] !== h[k]![1]) return -1;
      i += 2;
    }
    return i;
  }
  if (scheme === "tel") {
    if (t[i] !== (u as TelUri).number) return -1;
    return chkParams(t, i + 1, (u as TelUri).params);
  }
  return t[i] === (u as OtherUri).opaque ? i + 1 : -1;
}

function recNameAddr(t: unknown[], i: number, na: NameAddr): number {
  t[i] = na.displayName;
  return recParams(t, recUri(t, i + 1, na.uri), na.params);
}

function chkNameAddr(t: unknown[], i: number, na: NameAddr): number {
  if (t[i] !== na.displayName) return -1;
  i = chkUri(t, i + 1, na.uri);
  return i < 0 ? -1 : chkParams(t, i, na.params);
}

function recNameAddrs(t: unknown[], i: number, list: readonly NameAddr[]): number {
  t[i++] = list.length;
  for (let k = 0; k < list.length; k++) i = recNameAddr(t, i, list[k]!);
  return i;
}

function chkNameAddrs(t: unknown[], i: number, list: readonly NameAddr[]): number {
  if (t[i++] !== list.length) return -1;
  for (let k = 0; k < list.length && i >= 0; k++) i = chkNameAddr(t, i, list[k]!);
  return i;
}

function recVias(t: unknown[], i: number, list: readonly Via[]): number {
  t[i++] = list.length;
  for (let k = 0; k < list.length; k++) {
    const v = list[k]!;
    t[i++] = v.transport;
    t[i++] = v.host;
    t[i++] = v.port;
    i = recParams(t, i, v.params);
  }
  return i;
}

function chkVias(t: unknown[], i: number, list: readonly Via[]): number {
  if (t[i++] !== list.length) return -1;
  for (let k = 0; k < list.length; k++) {
    const v = list[k]!;
    if (t[i] !== v.transport || t[i + 1] !== v.host || t[i + 2] !== v.port) return -1;
    i = chkParams(t, i + 3, v.params);
    if (i < 0) return -1;
  }
  return i;
}

function recHeaders(t: unknown[], i: number, list: readonly HeaderField[]): number {
  t[i++] = list.length;
  for (let k = 0; k < list.length; k++) {
    t[i++] = list[k]!.name;
    t[i++] = list[k]!.value;
  }
  return i;
}

function chkHeaders(t: unknown[], i: number, list: readonly HeaderField[]): number {
  if (t[i++] !== list.length) return -1;
  for (let k = 0; k < list.length; k++) {
    if (t[i] !== list[k]!.name || t[i + 1] !== list[k]!.value) return -1;
    i += 2;
  }
  return i;
}

/** Records the leaves of field `f` of `m` at t[i..]; returns the next index. */
function recField(t: unknown[], i: number, m: SipMessage, f: number): number {
  switch (f) {
    case Field.StartLine:
      if (m.kind === "request") {
        t[i] = m.method;
        return recUri(t, i + 1, m.uri);
      }
      t[i] = m.status;
      t[i + 1] = m.reason;
      return i + 2;
    case Field.Via:
      return recVias(t, i, m.via);
    case Field.From:
      return recNameAddr(t, i, m.from);
    case Field.To:
      return recNameAddr(t, i, m.to);
    case Field.CallId:
      t[i] = m.callId;
      return i + 1;
    case Field.CSeq:
      t[i] = m.cseq.seq;
      t[i + 1] = m.cseq.method;
      return i + 2;
    case Field.Contact:
      t[i] = m.contactWildcard;
      return recNameAddrs(t, i + 1, m.contact);
    case Field.Route:
      return recNameAddrs(t, i, m.route);
    case Field.RecordRoute:
      return recNameAddrs(t, i, m.recordRoute);
    case Field.MaxForwards:
      t[i] = m.maxForwards;
      return i + 1;
    case Field.ContentType:
      t[i] = m.contentType;
      return i + 1;
    case Field.Headers:
      return recHeaders(t, i, m.headers);
  }
  // Content-Length: always written from body.length.
  return i;
}

/** Checks the leaves of field `f` of `m` against t[i..]; returns the next index, or -1 on a difference. */
function chkField(t: unknown[], i: number, m: SipMessage, f: number): number {
  switch (f) {
    case Field.StartLine:
      if (m.kind === "request") return t[i] === m.method ? chkUri(t, i + 1, m.uri) : -1;
      return t[i] === m.status && t[i + 1] === m.reason ? i + 2 : -1;
    case Field.Via:
      return chkVias(t, i, m.via);
    case Field.From:
      return chkNameAddr(t, i, m.from);
    case Field.To:
      return chkNameAddr(t, i, m.to);
    case Field.CallId:
      return t[i] === m.callId ? i + 1 : -1;
    case Field.CSeq:
      return t[i] === m.cseq.seq && t[i + 1] === m.cseq.method ? i + 2 : -1;
    case Field.Contact:
      return t[i] === m.contactWildcard ? chkNameAddrs(t, i + 1, m.contact) : -1;
    case Field.Route:
      return chkNameAddrs(t, i, m.route);
    case Field.RecordRoute:
      return chkNameAddrs(t, i, m.recordRoute);
    case Field.MaxForwards:
      return t[i] === m.maxForwards ? i + 1 : -1;
    case Field.ContentType:
      return t[i] === m.contentType ? i + 1 : -1;
    case Field.Headers:
      return chkHeaders(t, i, m.headers);
  }
  return i;
}

// Recording writes into this reused array (parsing is synchronous and never nests), and the
// used part is copied out: one allocation per message. It keeps the last message's leaves until
// the next one overwrites them, at most one message's worth.
const recording: unknown[] = [];

/** Attaches the received text to a freshly parsed message and returns it; `lines` holds `nLines` line-table entries and may be a reused array; text[0..end) is the header section. */
export function attachRawHead(m: SipMessage, text: string, end: number, startEnd: number, lines: number[], nLines: number, folded: number): RawHead {
  const t = recording;
  let i = Field.Count + 1;
  for (let f = 0; f < Field.Count; f++) {
    t[f] = i;
    i = recField(t, i, m, f);
  }
  t[Field.Count] = i;
  // The line table follows the leaves, so one array holds both.
  for (let k = 0; k < nLines; k++) t[i + k] = lines[k];
  const raw: RawHead = { text, end, startEnd, lines: i, linesEnd: i + nLines, folded, tape: t.slice(0, i + nLines), wire: null, wireStart: 0, wireEnd: 0, wireBody: null };
  new Stamped(m, raw);
  return raw;
}

/** All fields clean: the value cleanFields returns for a message nobody changed. */
export const ALL_CLEAN = (1 << Field.Count) - 1;

/** Bit f set: field f of `m` still holds exactly the values it was parsed with (Field.ContentLength always reads clean). */
export function cleanFields(m: SipMessage, raw: RawHead): number {
  const t = raw.tape;
  let clean = 0;
  for (let f = 0; f < Field.Count; f++) if (chkField(t, t[f] as number, m, f) === t[f + 1]) clean |= 1 << f;
  return clean;
}
