export type * from "./types.ts";
export { createTransactionLayer, resolveTimers, serverKey } from "./layer.ts";
export { buildCancel, buildNon2xxAck, MAGIC_COOKIE } from "./build.ts";
