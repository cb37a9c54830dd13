import { type Result, ok, err } from "../lib/index.ts";
import { put16, u16 } from "./bytes.ts";

/*
 * RFC 4733 section 2.3, telephone-event payload:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * All packets of one event carry the RTP timestamp of its start; `duration` grows with each
 * update, and the final packet (E set) is sent three times (section 2.5.1.4).
 */

export const DTMF_EVENT_SIZE = 4;
const EVENT_OFFSET = 0;
const FLAGS_OFFSET = 1;
const DURATION_OFFSET = 2;
const END_MASK = 0x80;
const VOLUME_MASK = 0x3f;
const MAX_DURATION = 0xffff;

/** Stable code for a telephone-event payload that cannot be read. */
export type DtmfParseError = "DTMF_TOO_SHORT";

/** One telephone-event payload. */
export interface DtmfEvent {
  /** 0-9, 10 = '*', 11 = '#', 12-15 = A-D, 16 = flash (RFC 4733 3.2). */
  readonly event: number;
  readonly end: boolean;
  /** Power level as -dBm0, 0..63. */
  readonly volume: number;
  /** In RTP timestamp units since the event's timestamp. */
  readonly duration: number;
}

const DIGITS = "0123456789*#ABCD";
const FLASH_EVENT = 16;

/** The character for a DTMF event code ('!' for flash), or undefined for other events. */
export function dtmfDigit(event: number): string | undefined {
  if (event === FLASH_EVENT) return "!";
  return DIGITS[event];
}

/** The event code for a digit character (case-insensitive A-D, '!' for flash), or undefined. */
export function dtmfEventCode(digit: string): number | undefined {
  if (digit === "!") return FLASH_EVENT;
  const i = DIGITS.indexOf(digit.toUpperCase());
  return i < 0 || digit.length !== 1 ? undefined : i;
}

/** Reads a telephone-event payload (extra octets, as in RFC 4733 2.5.1.5 redundancy, are ignored). */
export function parseDtmfEvent(payload: Uint8Array): Result<DtmfEvent, DtmfParseError> {
  if (payload.length < DTMF_EVENT_SIZE) return err("DTMF_TOO_SHORT");
  const flags = payload[FLAGS_OFFSET]!;
  return ok({
    event: payload[EVENT_OFFSET]!,
    end: (flags & END_MASK) !== 0,
    volume: flags & VOLUME_MASK,
    duration: u16(payload, DURATION_OFFSET),
  });
}

/** Writes the 4-octet payload at `offset`; returns 4, or -1 if it does not fit. */
export function marshalDtmfEvent(e: DtmfEvent, out: Uint8Array, offset = 0): number {
  if (offset + DTMF_EVENT_SIZE > out.length) return -1;
  out[offset + EVENT_OFFSET] = e.event & 0xff;
  out[offset + FLAGS_OFFSET] = (e.end ? END_MASK : 0) | (e.volume & VOLUME_MASK);
  put16(out, offset + DURATION_OFFSET, Math.min(e.duration, MAX_DURATION));
  return DTMF_EVENT_SIZE;
}

/** A digit recognized from the event stream. */
export interface DtmfDigit {
  readonly event: number;
  /** The character, or undefined for non-DTMF events. */
  readonly digit: string | undefined;
  /** RTP timestamp of the event's start. */
  readonly timestamp: number;
  /** In RTP timestamp units. */
  readonly duration: number;
  readonly volume: number;
  /** False when the end packets were lost and a later event or flush closed it. */
  readonly ended: boolean;
}

/**
 * Turns the packets of a telephone-event stream into digits, each once: the retransmitted end
 * packets and repeated updates share the event's RTP timestamp (RFC 4733 2.5.2.1), so the
 * timestamp is the event's identity. An event whose end packets were all lost is reported when
 * the next event starts or on flush().
 */
export class DtmfReceiver {
  #timestamp = -1;
  #event = -1;
  #duration = 0;
  #volume = 0;
  #open = false;
  /** Timestamp of the last event already reported, so late end retransmissions are dropped. */
  #reported = -1;

  /** Feeds one telephone-event packet; returns the digits it completes (usually none, at most two). */
  push(timestamp: number, e: DtmfEvent): DtmfDigit[] {
    const done: DtmfDigit[] = [];
    const ts = timestamp >>> 0;
    // Late or retransmitted packets of an event already reported, or of an older one, are dropped
    // (serial-number comparison so the RTP timestamp may wrap).
    if (this.#reported >= 0 && ((ts - this.#reported) | 0) <= 0) return done;
    if (this.#open && ((ts - this.#timestamp) | 0) < 0) return done;
    if (this.#open && ts !== this.#timestamp) {
      done.push(this.#close(false));
    }
    if (!this.#open) {
      this.#open = true;
      this.#timestamp = ts;
      this.#event = e.event;
      this.#duration = 0;
    }
    if (e.duration > this.#duration) this.#duration = e.duration;
    this.#volume = e.volume;
    if (e.end) done.push(this.#close(true));
    return done;
  }

  /** Reports an event still open (its end packets lost), e.g. when the stream stops. */
  flush(): DtmfDigit | undefined {
    return this.#open ? this.#close(false) : undefined;
  }

  #close(ended: boolean): DtmfDigit {
    this.#open = false;
    this.#reported = this.#timestamp;
    return {
      event: this.#event,
      digit: dtmfDigit(this.#event),
      timestamp: this.#timestamp,
      duration: this.#duration,
      volume: this.#volume,
      ended,
    };
  }
}

/** One packet of a generated event: RTP header fields and the payload to marshal. */
export interface DtmfPacketPlan {
  readonly marker: boolean;
  readonly timestamp: number;
  readonly payload: DtmfEvent;
}

/** Options for dtmfPacketSequence(). */
export interface DtmfSequenceOptions {
  readonly event: number;
  /** RTP timestamp of the event's start, shared by all its packets. */
  readonly timestamp: number;
  /** Total duration in timestamp units (e.g. 800 for 100 ms at 8000 Hz). */
  readonly duration: number;
  /** Timestamp units between packets; 160 = 20 ms at 8000 Hz. */
  readonly packetInterval?: number;
  /** -dBm0; 10 by default. */
  readonly volume?: number;
  /** How many times the end packet is sent (RFC 4733 2.5.1.4 says three). */
  readonly endRepeats?: number;
}

/**
 * The packets that carry one event: the first with the marker bit (RFC 4733 2.5.1.3), updates
 * every packetInterval, then the end packet repeated. Sequence numbers are the caller's.
 */
export function dtmfPacketSequence(o: DtmfSequenceOptions): DtmfPacketPlan[] {
  const interval = o.packetInterval ?? 160;
  const volume = o.volume ?? 10;
  const repeats = o.endRepeats ?? 3;
  const total = Math.max(1, Math.min(o.duration, MAX_DURATION));
  const timestamp = o.timestamp >>> 0;
  const plan: DtmfPacketPlan[] = [];
  for (let d = interval; d < total; d += interval) {
    plan.push({ marker: plan.length === 0, timestamp, payload: { event: o.event, end: false, volume, duration: d } });
  }
  for (let i = 0; i < repeats; i++) {
    plan.push({ marker: plan.length === 0, timestamp, payload: { event: o.event, end: true, volume, duration: total } });
  }
  return plan;
}
