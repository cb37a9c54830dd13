// The packet-level media layer: RTP/RTCP codecs, demultiplexing, G.711, RFC 4733 events,
// SRTP/SRTCP with SDES keys, and receive quality. No sockets here; relay sessions build on it.

export {
  type RtpPacket,
  type RtpExtension,
  type RtpParseError,
  RTP_VERSION,
  RTP_FIXED_HEADER_SIZE,
  parseRtpPacket,
  marshalRtpPacket,
  rtpPacketSize,
  rtpPayloadOffset,
  readRtpPayloadType,
  writeRtpPayloadType,
  readRtpMarker,
  readRtpSequenceNumber,
  writeRtpSequenceNumber,
  readRtpTimestamp,
  writeRtpTimestamp,
  readRtpSsrc,
  writeRtpSsrc,
} from "./rtp-packet.ts";
export {
  type RtcpParseError,
  RTCP_PT_SR,
  RTCP_PT_RR,
  RTCP_PT_SDES,
  RTCP_PT_BYE,
  RTCP_PT_APP,
} from "./rtcp-header.ts";
export {
  type RtcpSenderReport,
  parseRtcpSenderReport,
  marshalRtcpSenderReport,
  rtcpSenderReportSize,
} from "./rtcp-sender-report.ts";
export {
  type RtcpReceiverReport,
  type ReceptionReport,
  parseRtcpReceiverReport,
  marshalRtcpReceiverReport,
  rtcpReceiverReportSize,
} from "./rtcp-receiver-report.ts";
export {
  type RtcpSourceDescription,
  type SdesChunk,
  type SdesItem,
  SDES_CNAME,
  SDES_NAME,
  SDES_EMAIL,
  SDES_PHONE,
  SDES_LOC,
  SDES_TOOL,
  SDES_NOTE,
  SDES_PRIV,
  parseRtcpSourceDescription,
  marshalRtcpSourceDescription,
  rtcpSourceDescriptionSize,
} from "./rtcp-sdes.ts";
export { type RtcpGoodbye, parseRtcpGoodbye, marshalRtcpGoodbye, rtcpGoodbyeSize } from "./rtcp-goodbye.ts";
export { type RtcpRawPacket, parseRtcpRawPacket, marshalRtcpRawPacket, rtcpRawPacketSize } from "./rtcp-raw-packet.ts";
export {
  type RtcpPacket,
  parseRtcpPacket,
  parseRtcpCompound,
  marshalRtcpPacket,
  marshalRtcpCompound,
  rtcpPacketSizeOf,
  rtcpCompoundSize,
} from "./rtcp-compound.ts";
export { type MediaPacketKind, classifyPacket } from "./demux.ts";
export {
  type G711Law,
  decodeUlaw,
  decodeAlaw,
  encodeUlaw,
  encodeAlaw,
  ULAW_TO_LINEAR,
  ALAW_TO_LINEAR,
  ULAW_TO_ALAW,
  ALAW_TO_ULAW,
  transcodeG711,
  decodeG711,
  encodeG711,
  transcodeRtpPacketG711,
  G711_PAYLOAD_TYPE,
} from "./g711.ts";
export {
  type DtmfEvent,
  type DtmfParseError,
  type DtmfDigit,
  type DtmfPacketPlan,
  type DtmfSequenceOptions,
  DTMF_EVENT_SIZE,
  parseDtmfEvent,
  marshalDtmfEvent,
  dtmfDigit,
  dtmfEventCode,
  DtmfReceiver,
  dtmfPacketSequence,
} from "./dtmf-event.ts";
export {
  type SrtpProfile,
  type SrtpError,
  type SrtpMasterKey,
  type SrtpSessionKeys,
  type SrtpContextOptions,
  SrtpLabel,
  SrtpContext,
  ReplayWindow,
  createSrtpContext,
  srtpDeriveKey,
  srtpSessionKeys,
  srtpTagSize,
  srtpKeystream,
} from "./srtp.ts";
export {
  type SdesKey,
  type SdesKeyError,
  parseSdesKeyParam,
  formatSdesKeyParam,
  sdesKeyOf,
  sdesCryptoAttribute,
  srtpProfileOf,
  generateSrtpMasterKey,
} from "./sdes-key.ts";
export {
  type PacketVerdict,
  type ReceiveStatsSnapshot,
  type ReceiveStatsOptions,
  type EModelCodec,
  type EModelInput,
  type EModelScore,
  type CodecImpairment,
  ReceiveStats,
  SendStats,
  CODEC_IMPAIRMENTS,
  ntpMiddle32FromUnixMs,
  ntpFromUnixMs,
  ntpMiddle32,
  rttFromReport,
  delayImpairment,
  effectiveEquipmentImpairment,
  mosFromR,
  mosFromEModel,
  eModelCodecOf,
} from "./quality.ts";
export * from "./relay/index.ts";
// rtpengine's ng control protocol, for the call layer's rtpengine media anchor.
export * from "./rtpengine/index.ts";
