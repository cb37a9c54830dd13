/**
 * The SIP message model (RFC 3261 section 7 and 20).
 *
 * Hot headers (the ones every proxy, transaction and dialog reads) are typed fields, parsed once.
 * Every other header stays in `headers` as an unfolded raw value and is parsed on demand.
 * The typed fields are the truth for their headers: the serializer writes them from the fields,
 * so a B2BUA changes a message by changing a field, never by editing text.
 *
 * Values are immutable (every property and list below is readonly, and the body's bytes are
 * never edited): a change replaces the message's field, e.g.
 * `m.via = [withParam(m.via[0]!, "received", ip), ...m.via.slice(1)]` (see edit.ts). That is what
 * lets the serializer tell a changed header from an unchanged one by identity alone, and lets a
 * response or a B-leg share its request's values instead of copying them.
 */

/** Generic parameters (`;name=value`, `;flag`): keys lower-cased, `null` for a flag without a value, in wire order. Immutable: see withParam. */
export type Params = Readonly<Record<string, string | null>>;

/** `sip:` or `sips:` URI (RFC 3261 19.1). Strings keep their %HH escapes as received. */
export interface SipUri {
  readonly scheme: "sip" | "sips";
  readonly user: string | null;
  readonly password: string | null;
  /** Host name, IPv4 address, or IPv6 reference with its brackets (`[2001:db8::1]`). */
  readonly host: string;
  readonly port: number | null;
  readonly params: Params;
  /** `?name=value&...` headers of the URI, raw and in order; empty when absent. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** `tel:` URI (RFC 3966): the number as written (with visual separators) and its parameters. */
export interface TelUri {
  readonly scheme: "tel";
  readonly number: string;
  readonly params: Params;
}

/** Any other absolute URI (RFC 3261 allows them): kept opaque. */
export interface OtherUri {
  /** Lower-cased scheme, never "sip", "sips" or "tel". */
  readonly scheme: string;
  /** Everything after the colon, as received. */
  readonly opaque: string;
}

export type Uri = SipUri | TelUri | OtherUri;

/** name-addr or addr-spec with header parameters: From, To, Contact, Route, Record-Route, ... */
export interface NameAddr {
  /** Display name without surrounding quotes (quoted-pairs kept escaped), or null. */
  readonly displayName: string | null;
  readonly uri: Uri;
  /** Header parameters after the URI (tag, expires, q, lr on Route is a URI param, ...). */
  readonly params: Params;
}

/** One Via value (RFC 3261 20.42, RFC 3581 rport, RFC 5118 IPv6 received). */
export interface Via {
  /** Upper-cased transport token: UDP, TCP, TLS, SCTP, WS, WSS or an unknown token. */
  readonly transport: string;
  /** Sent-by host; an IPv6 reference keeps its brackets. */
  readonly host: string;
  readonly port: number | null;
  /** All parameters, including branch, received, rport (null when present without a value), maddr, ttl. */
  readonly params: Params;
}

export interface CSeq {
  /** 0 to 2^31-1 per RFC 3261 8.1.1.5; the parser rejects values above 2^32-1. */
  readonly seq: number;
  readonly method: string;
}

/** A header kept raw: `name` as written on the wire, `value` unfolded and trimmed. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

interface MessageBase {
  /** Via values, top first. */
  via: readonly Via[];
  from: NameAddr;
  to: NameAddr;
  callId: string;
  cseq: CSeq;
  /** Contact values in order; empty when absent or wildcard. */
  contact: readonly NameAddr[];
  /** True when the Contact header is `*` (REGISTER removal of all bindings). */
  contactWildcard: boolean;
  route: readonly NameAddr[];
  recordRoute: readonly NameAddr[];
  maxForwards: number | null;
  /** Media type with its parameters as written, e.g. `application/sdp`. */
  contentType: string | null;
  /** Every other header, in wire order, with folded lines joined. */
  headers: readonly HeaderField[];
  /** The body, exactly Content-Length bytes; Content-Length is written from body.length. Replaced, never edited in place (it may share the datagram). */
  body: Buffer;
}

export interface SipRequest extends MessageBase {
  readonly kind: "request";
  method: string;
  uri: Uri;
}

export interface SipResponse extends MessageBase {
  readonly kind: "response";
  status: number;
  reason: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Stable codes for why a message could not be parsed; callers branch on these, never on text. */
export type ParseErrorCode =
  | "EMPTY"
  | "BAD_START_LINE"
  | "BAD_VERSION"
  | "BAD_STATUS"
  | "BAD_URI"
  | "BAD_HEADER_LINE"
  | "BAD_HEADER_VALUE"
  | "MISSING_HEADER"
  | "DUPLICATE_HEADER"
  | "CSEQ_METHOD_MISMATCH"
  | "BAD_CONTENT_LENGTH"
  | "BODY_TRUNCATED"
  | "TOO_LARGE";

/** Why a message was refused, and what was salvaged so a 400/505 can still be built. */
export interface ParseError {
  readonly code: ParseErrorCode;
  /** The offending header's name as written, when one header is at fault. */
  readonly header?: string;
  /** A short human reason, safe to put in a Warning or reason phrase. */
  readonly detail: string;
  /** What the start line said, when it could be read. */
  readonly kind?: "request" | "response";
  readonly method?: string;
  /**
   * Raw values of the headers a stateless reply copies (Via, From, To, Call-ID, CSeq), when present,
   * keyed by their long lower-case names. A 400 is only built when `via` is here.
   */
  readonly salvage?: Readonly<Partial<Record<"via" | "from" | "to" | "call-id" | "cseq", string[]>>>;
}

export type ParseResult = { readonly ok: true; readonly message: SipMessage } | { readonly ok: false; readonly error: ParseError };
