export type * from "./types.ts";
export { parseMessage, DEFAULT_MAX_MESSAGE_SIZE, type ParseOptions } from "./parse-message.ts";
export { StreamFramer, type StreamFramerOptions } from "./stream-framer.ts";
export { serializeMessage } from "./serialize.ts";
export { paramsWith, paramsWithout, withParam, withoutParam, withItem } from "./edit.ts";
export { parseUri, serializeUri, isSipUri, isTelUri } from "./parse-uri.ts";
export { parseNameAddr, serializeNameAddr, splitList } from "./parse-name-addr.ts";
export { parseVia, serializeVia } from "./parse-via.ts";
export { getHeader, getHeaders, setHeader, addHeader, removeHeader, HeaderValueError } from "./headers.ts";
export { canonicalHeaderName, compactHeaderName, isHotHeader, isSameHeaderName } from "./header-names.ts";
export { createRequest, type RequestInit } from "./create-request.ts";
export { createResponse, type ResponseOptions } from "./create-response.ts";
export { buildMalformedReply } from "./malformed-reply.ts";
export { reasonPhrase } from "./reason-phrases.ts";
/** The shared frozen empty Params (serializeParams writes it without a for-in). */
export { NO_PARAMS } from "./chars.ts";
