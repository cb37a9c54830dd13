export { type Result, ok, err } from "./result.ts";
export { type Clock, type Timer, systemClock, FakeClock } from "./clock.ts";
export { randomToken, newBranch, newTag, newCallId } from "./ids.ts";
export { setBounded } from "./bounded-map.ts";
export { DelayQueue } from "./delay-queue.ts";
export { type DigestAlgorithm, computeHa1, digestHex } from "./digest-hash.ts";
export { loadNativeAddon } from "./native-addon.ts";
