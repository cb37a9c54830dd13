import type { SipMessage } from "./types.ts";

/**
 * The received text of a parsed message's header section, kept so the serializer can write the
 * headers nobody changed as they arrived instead of rendering them again from the typed fields.
 *
 * The typed fields stay the truth. Their values are immutable (types.ts), so a field that still
 * holds the very value it was parsed with is unchanged, and is written from its received lines;
 * a field a caller replaced is rendered. Detecting a change is one comparison per field.
 */
export interface RawHead {
  /** The decoded text whose first `end` characters are the header section (start line through the last header line, no empty line). */
  readonly text: string;
  /** Where the header section ends in `text`. */
  readonly end: number;
  /** Index just past the start line's CRLF. */
  readonly startEnd: number;
  /** Per header line, its start times LINE_START plus its Field (plus FOLDED_LINE); a line ends where the next starts, the last at `end`. */
  readonly lines: readonly number[];
  /** Bit f set: a line of hot field f was folded, so its text is not the value; such a field is always rendered. */
  readonly folded: number;
  /** Every Via line held one value: the serializer can then keep the lines of Via values a proxy left in place. */
  readonly viaPerLine: boolean;
  /** What the fields held when parsed: the start line (method and Request-URI, or status and reason), then one entry per field. */
  readonly startA: string | number;
  readonly startB: unknown;
  readonly via: unknown;
  readonly from: unknown;
  readonly to: unknown;
  readonly callId: string;
  readonly cseq: unknown;
  readonly contact: unknown;
  readonly contactWildcard: boolean;
  readonly route: unknown;
  readonly recordRoute: unknown;
  readonly maxForwards: number | null;
  readonly contentType: string | null;
  readonly headers: unknown;
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
 * The fields of a message. The numbers of Via..ContentLength are those of
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

/** Attaches the received text to a freshly parsed message and returns it; `lines` holds `nLines` line-table entries and may be a reused array; text[0..end) is the header section. */
export function attachRawHead(m: SipMessage, text: string, end: number, startEnd: number, lines: number[], nLines: number, folded: number, viaLines: number): RawHead {
  const request = m.kind === "request";
  const raw: RawHead = {
    text,
    end,
    startEnd,
    lines: lines.slice(0, nLines),
    folded,
    viaPerLine: viaLines === m.via.length,
    startA: request ? m.method : m.status,
    startB: request ? m.uri : m.reason,
    via: m.via,
    from: m.from,
    to: m.to,
    callId: m.callId,
    cseq: m.cseq,
    contact: m.contact,
    contactWildcard: m.contactWildcard,
    route: m.route,
    recordRoute: m.recordRoute,
    maxForwards: m.maxForwards,
    contentType: m.contentType,
    headers: m.headers,
    wire: null,
    wireStart: 0,
    wireEnd: 0,
    wireBody: null,
  };
  new Stamped(m, raw);
  return raw;
}

/** All fields clean: the value cleanFields returns for a message nobody changed. */
export const ALL_CLEAN = (1 << Field.Count) - 1;

/** Bit f set: field f of `m` still holds the value it was parsed with (Field.ContentLength always reads clean). */
export function cleanFields(m: SipMessage, raw: RawHead): number {
  let changed = 0;
  if (m.kind === "request" ? m.method !== raw.startA || m.uri !== raw.startB : m.status !== raw.startA || m.reason !== raw.startB) changed = 1 << Field.StartLine;
  if (m.via !== raw.via) changed |= 1 << Field.Via;
  if (m.from !== raw.from) changed |= 1 << Field.From;
  if (m.to !== raw.to) changed |= 1 << Field.To;
  if (m.callId !== raw.callId) changed |= 1 << Field.CallId;
  if (m.cseq !== raw.cseq) changed |= 1 << Field.CSeq;
  if (m.contact !== raw.contact || m.contactWildcard !== raw.contactWildcard) changed |= 1 << Field.Contact;
  if (m.route !== raw.route) changed |= 1 << Field.Route;
  if (m.recordRoute !== raw.recordRoute) changed |= 1 << Field.RecordRoute;
  if (m.maxForwards !== raw.maxForwards) changed |= 1 << Field.MaxForwards;
  if (m.contentType !== raw.contentType) changed |= 1 << Field.ContentType;
  if (m.headers !== raw.headers) changed |= 1 << Field.Headers;
  return ALL_CLEAN & ~changed;
}
