// The public face of Trunkline's SIP stack: `import { createSipStack, parseMessage } from "trunkline/sip"`.
export * from "./message/index.ts";
export * from "./transport/index.ts";
export * from "./transaction/index.ts";
export * from "./dialog/index.ts";
export * from "./auth/index.ts";
export { createSipStack, type SipStack, type SipStackOptions, type MethodHandler } from "./stack.ts";
export { checkRequest, unhandledResponse, mediaType, KNOWN_METHODS, type UasCapabilities, type DefaultResponse } from "./default-responses.ts";
export { type SipLogger, silentLogger } from "./logger.ts";
export { type StackCounters } from "./stack-counters.ts";
