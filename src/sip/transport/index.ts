export * from "./types.ts";
export { createTransport } from "./create-transport.ts";
export { resolveTarget, type DnsResolverLike, type ResolveOptions } from "./resolver.ts";
