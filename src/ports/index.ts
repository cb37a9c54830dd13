export { type Binding, type BindingTransport, type BindingRepository } from "./bindings.ts";
export { type Storage } from "./storage.ts";
export { type ProvisioningRepository } from "./provisioning.ts";
export { DISPOSITIONS, type TraceEntry, type CdrAttempt, type Disposition, type CallDetailRecord, type CdrQuery, type CdrRepository, type CallMediaQuality, type LegMediaQuality, type MediaDirectionQuality } from "./cdrs.ts";
export { type SipLadderMessage, type SipLadderRepository, type LadderEndpoint } from "./sip-ladders.ts";
export { type BanRepository, type FraudSuspension, type FraudSuspensionRepository } from "./bans.ts";
