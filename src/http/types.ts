// What the HTTP layer needs from the running server, as narrow views: tests pass fakes, main.ts
// passes the real call layer, storage and metrics.
import type { ActiveCall, FraudEngine, HealthSnapshot, RegistrationState, SecurityGuard, SipLadderSnapshot } from "../call/index.ts";
import type { ChannelCounts, Policy, Provisioning } from "../domain/index.ts";
import type { Logger, MetricsRegistry } from "../observability/index.ts";
import type { CdrRepository, ProvisioningRepository } from "../ports/index.ts";
import type { ApiToken } from "./auth.ts";

/** The calls in progress, as the API reads and ends them. */
export interface CallsView {
  activeCalls(): ActiveCall[];
  channelUse(trunkId: string): ChannelCounts;
  hangup(id: string, reason?: string): boolean;
}

/** Gateway health (null when OPTIONS pings are off) and carrier registrations. */
export interface HealthView {
  gateways(): readonly HealthSnapshot[] | null;
  registrations(): readonly RegistrationState[];
}

/** What applying a whole provisioning set came to; errors name paths (`customers[0].dids[1]: ...`). */
export type ApplyResult = { readonly ok: true } | { readonly ok: false; readonly errors: readonly string[] };

/** Everything buildHttpApp needs. */
export interface HttpAppDeps {
  readonly provisioning: ProvisioningRepository;
  readonly cdrs: CdrRepository;
  readonly calls: CallsView;
  /** The compiled provisioning now in force (DID lookup, trunk kinds). */
  policy(): Policy;
  readonly health: HealthView;
  readonly metrics: MetricsRegistry;
  /**
   * Compiles, stores and puts in force a whole provisioning set: the next call sees it, calls in
   * progress keep what they started with.
   */
  applyProvisioning(next: Provisioning): Promise<ApplyResult>;
  /** http.tokens; empty means the local operator (loopback only) may do everything. */
  readonly tokens: readonly ApiToken[];
  /** False on a loopback listener, where Prometheus may scrape /metrics without a token. */
  readonly metricsNeedToken: boolean;
  readonly logger?: Logger;
  /** Per-call SIP ladders (GET /api/v1/calls/:id/sip); absent when capture is off. */
  readonly sipLadders?: { read(callId: string): Promise<SipLadderSnapshot | undefined> };
  /** The ban list (GET/POST/DELETE /api/v1/bans); absent: no ban routes. */
  readonly bans?: Pick<SecurityGuard, "listBans" | "addBan" | "liftBan">;
  /** Digest-account locks (GET /api/v1/account-locks, DELETE /api/v1/account-locks/:account); absent: no such routes. */
  readonly accountLocks?: Pick<SecurityGuard, "listAccountLocks" | "unlockAccount">;
  /** Fraud suspensions (GET /api/v1/suspensions, DELETE /api/v1/suspensions/:customer); absent: no such routes. */
  readonly fraud?: Pick<FraudEngine, "suspensions" | "lift">;
}

/** How the app is served; main.ts fills it from http.tls. */
export interface HttpAppOptions {
  readonly https?: { readonly key: string | Buffer; readonly cert: string | Buffer };
}
