import { DEFAULT_MAX_MESSAGE_SIZE, makeError, parseHead, skipLeadingCrlf } from "./parse-message.ts";
import type { ParseError, ParseResult, SipMessage } from "./types.ts";

/** Options of StreamFramer. */
export interface StreamFramerOptions {
  /** Largest message (header section plus body) accepted, in bytes (default 65536). */
  maxMessageSize?: number;
}

interface Pending {
  /** Offset of the body in `buf`, and its length from Content-Length. */
  bodyStart: number;
  bodyLength: number;
  message: SipMessage | null;
  error: ParseError | null;
}

const EMPTY = Buffer.alloc(0);

/**
 * Cuts a stream transport's bytes (TCP, TLS) into messages. On a stream, Content-Length is the
 * only way to find where a message ends (RFC 3261 18.3: it MUST be present), so a missing,
 * negative or conflicting value leaves no way to resynchronise: the framer reports the error,
 * becomes `broken`, and the transport closes the connection.
 */
export class StreamFramer {
  private buf: Buffer = EMPTY;
  private searched = 0;
  private pending: Pending | null = null;
  private readonly max: number;
  private isBroken = false;

  constructor(options?: StreamFramerOptions) {
    this.max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** True once framing was lost; every later push returns nothing. */
  get broken(): boolean {
    return this.isBroken;
  }

  /** Bytes received and not yet part of a complete message. */
  get buffered(): number {
    return this.buf.length;
  }

  /** Feeds bytes; returns the messages (or errors) completed by them, in order. */
  push(chunk: Buffer): ParseResult[] {
    if (this.isBroken) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: ParseResult[] = [];
    for (;;) {
      const p = this.pending;
      if (p !== null) {
        const end = p.bodyStart + p.bodyLength;
        if (this.buf.length < end) break;
        if (p.message !== null) {
          if (p.bodyLength > 0) p.message.body = this.buf.subarray(p.bodyStart, end);
          out.push({ ok: true, message: p.message });
        } else {
          out.push({ ok: false, error: p.error! });
        }
        this.consume(end);
        continue;
      }
      // Keep-alive CRLFs between messages (RFC 5626 3.5.1) are skipped here.
      const start = skipLeadingCrlf(this.buf, 0);
      if (start > 0) this.consume(start);
      if (this.buf.length === 0) break;
      const from = Math.max(0, this.searched - 3);
      const headEnd = this.buf.indexOf("\r\n\r\n", from, "latin1");
      if (headEnd < 0) {
        this.searched = this.buf.length;
        if (this.buf.length > this.max) this.breakWith(out, makeError("TOO_LARGE", "header section too large", null, null));
        break;
      }
      const bodyStart = headEnd + 4;
      // Judged before parsing, as when the empty line has not arrived yet: the error must not
      // depend on how the bytes were chunked, and an oversize head is not worth parsing.
      if (bodyStart > this.max) {
        this.breakWith(out, makeError("TOO_LARGE", "header section too large", null, null));
        break;
      }
      const headText = this.buf.toString("utf8", 0, headEnd);
      const head = parseHead(headText);
      const cl = head.contentLength;
      if (cl === -2 || (cl === -1 && head.message === null)) {
        this.breakWith(out, head.error ?? makeError("BAD_CONTENT_LENGTH", "unusable Content-Length", head.message, headText, "Content-Length"));
        break;
      }
      if (cl === -1) {
        this.breakWith(out, makeError("BAD_CONTENT_LENGTH", "missing Content-Length on a stream", head.message, headText, "Content-Length"));
        break;
      }
      if (bodyStart + cl > this.max) {
        this.breakWith(out, makeError("TOO_LARGE", "message too large", head.message, headText));
        break;
      }
      // A bad header with a usable Content-Length costs only this message: the stream stays framed.
      this.pending = { bodyStart, bodyLength: cl, message: head.message, error: head.error };
    }
    return out;
  }

  private consume(n: number): void {
    this.buf = n >= this.buf.length ? EMPTY : this.buf.subarray(n);
    this.searched = 0;
    this.pending = null;
  }

  private breakWith(out: ParseResult[], error: ParseError): void {
    out.push({ ok: false, error });
    this.isBroken = true;
    this.buf = EMPTY;
    this.pending = null;
  }
}
