// rtpengine's ng control protocol: bencode and a UDP client. Knows commands, not dialogs; the
// call layer's rtpengine media anchor builds on it.
export { type BencodeValue, type BencodeDict, type BencodeDecodeError, encodeBencode, decodeBencode, isBencodeDict } from "./bencode.ts";
export {
  type NgClient,
  type NgClientOptions,
  type NgError,
  type NgErrorCode,
  type NgReply,
  type NgCallParams,
  type NgOfferParams,
  type NgAnswerParams,
  type NgCodecParams,
  createNgClient,
} from "./ng-client.ts";
export { type RtpengineDtmfEvent, type RtpengineDtmfLog, type RtpengineDtmfLogOptions, parseRtpengineDtmfLog, listenRtpengineDtmfLog } from "./dtmf-log.ts";
