/** What arrived on a shared media port. */
export type MediaPacketKind = "rtp" | "rtcp" | "stun" | "dtls" | "unknown";

// RFC 7983 section 7: the first octet tells STUN, DTLS and RTP/RTCP apart.
const STUN_FIRST_MAX = 3;
const DTLS_FIRST_MIN = 20;
const DTLS_FIRST_MAX = 63;
const RTP_FIRST_MIN = 128;
const RTP_FIRST_MAX = 191;
// RFC 5761 section 4: RTCP packet types 192-223 sit where RTP payload types 64-95 would with
// the marker set, which is why those payload types must not be used on a muxed port.
const RTCP_SECOND_MIN = 192;
const RTCP_SECOND_MAX = 223;
const RTP_MIN_SIZE = 12;
const RTCP_MIN_SIZE = 4;

/** Classifies a datagram received on an rtcp-mux port (RFC 5761 4, RFC 7983 7) from its first two octets. */
export function classifyPacket(buf: Uint8Array, length: number = buf.length): MediaPacketKind {
  if (length < 1) return "unknown";
  const first = buf[0]!;
  if (first <= STUN_FIRST_MAX) return "stun";
  if (first >= DTLS_FIRST_MIN && first <= DTLS_FIRST_MAX) return "dtls";
  if (first < RTP_FIRST_MIN || first > RTP_FIRST_MAX || length < RTCP_MIN_SIZE) return "unknown";
  const second = buf[1]!;
  if (second >= RTCP_SECOND_MIN && second <= RTCP_SECOND_MAX) return "rtcp";
  return length >= RTP_MIN_SIZE ? "rtp" : "unknown";
}
