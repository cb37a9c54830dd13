// The B2BUA call layer: createCallLayer wires the outbound and inbound pipelines onto a SIP stack.
export { createCallLayer } from "./call-layer.ts";
export { listeningAddress } from "./advertised.ts";
export { CdrDraft } from "./cdr.ts";
export type { CallLayer, CallLayerDeps, CallLayerOptions, ActiveCall } from "./types.ts";
export { type MediaAnchor, type CallLeg, passThroughMediaAnchor } from "./media-anchor.ts";
export { type MediaAnchorEvent, type CallMediaPolicy, MediaAnchorError } from "./media-anchor.ts";
export { relayMediaAnchor } from "./media-relay-anchor.ts";
export { rtpengineMediaAnchor, type RtpengineAnchorOptions, type RtpengineMediaAnchor } from "./media-rtpengine-anchor.ts";
export { createRegistrar, type Registrar, type RegistrarDeps, type RegistrarOptions } from "./registrar.ts";
export {
  createGatewayHealth,
  healthTargets,
  type GatewayHealth,
  type GatewayHealthDeps,
  type GatewayHealthOptions,
  type HealthTarget,
  type HealthSnapshot,
  type HealthChange,
} from "./gateway-health.ts";
export { createCarrierRegistration, type CarrierRegistration, type CarrierRegistrationDeps, type RegistrationState } from "./carrier-registration.ts";
export { createSecurityGuard, type SecurityGuard, type SecurityGuardDeps, type SecuritySettings, type BanChange, type AccountUnlock } from "./security.ts";
export {
  createSipLadderRecorder,
  type SipLadderRecorder,
  type SipLadderDeps,
  type SipLadderOptions,
  type SipLadderSnapshot,
  type CaptureSink,
} from "./sip-ladder.ts";
export { ladderJson, ladderText, ladderPcap, summarize, type LadderMessageJson, type MessageSummary } from "./sip-ladder-format.ts";
export { createHepSender, encodeHep3, HEP_CHUNK, type HepSender, type HepSenderOptions } from "./sip-ladder-hep.ts";
export { createFraudEngine, type FraudEngine, type FraudEngineDeps, type FraudEngineOptions, type FraudCallFacts, type AlertPoster } from "./fraud-engine.ts";
export { loadFraudRangesFile, parseFraudRangesText, watchFraudRangesFile, type FraudRangesWatch } from "./fraud-ranges-file.ts";
