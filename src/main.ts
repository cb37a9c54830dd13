// The composition root: the only file that imports every layer. It builds the server in the
// order of ARCHITECTURE.md (config -> logger -> storage -> media -> sip -> call -> http) and
// tears it down in reverse.
import { readFile } from "node:fs/promises";
import { isLoopbackAddress, parseHostPort, type Config } from "./config/index.ts";
import { createLogger, createMetricsRegistry, createSyslogSink, flushLogger, securityEvent, type DestinationStream, type Logger, type MetricsRegistry } from "./observability/index.ts";
import type { Storage } from "./ports/index.ts";
import { openStorage } from "./storage/index.ts";
import { randomBytes } from "node:crypto";
import { createSipStack, type SipStack, type SipStackOptions, type TlsEvent, type TransportError } from "./sip/index.ts";
import { compilePolicy, hashProvisioningSecrets, type Policy, type Provisioning } from "./domain/index.ts";
import { buildHttpApp, registerServerMetrics, type ApplyResult } from "./http/index.ts";
import {
  createCallLayer,
  createCarrierRegistration,
  createFraudEngine,
  loadFraudRangesFile,
  watchFraudRangesFile,
  type FraudEngine,
  createHepSender,
  createSipLadderRecorder,
  type SipLadderRecorder,
  createGatewayHealth,
  createRegistrar,
  createSecurityGuard,
  healthTargets,
  relayMediaAnchor,
  rtpengineMediaAnchor,
  type MediaAnchor,
  type CallLayer,
  type CarrierRegistration,
  type GatewayHealth,
  type Registrar,
  type SecurityGuard,
  listeningAddress,
} from "./call/index.ts";
import { systemClock } from "./lib/index.ts";
import { createMediaRelay, createNgClient, createWorkerMediaRelay, listenRtpengineDtmfLog } from "./media/index.ts";

/** One step of shutdown, run in reverse order of start. */
type Stopper = { readonly name: string; readonly stop: () => Promise<void> };

/** Injection points for tests and embedders; production passes nothing. */
export interface StartOptions {
  /** Where log lines go (default stdout). */
  readonly logDestination?: DestinationStream;
  /** Use this root logger instead of creating one (log.level is then the caller's business). */
  readonly logger?: Logger;
}

/** A running Trunkline. */
export interface TrunklineHandle {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly storage: Storage;
  /** The SIP stack (transports, transactions, default request handling). */
  readonly sip: SipStack;
  /** The B2BUA: calls in progress, channel use, hang-up. */
  readonly calls: CallLayer;
  readonly registrar: Registrar;
  readonly health: GatewayHealth | null;
  readonly carrierRegistration: CarrierRegistration;
  /** Request screening, connection limits, failed-auth bans and the ban list. */
  readonly security: SecurityGuard;
  /** The toll-fraud engine: per-customer state, suspensions, range list. */
  readonly fraud: FraudEngine;
  /** The compiled provisioning now in force. */
  policy(): Policy;
  /** Compiles and stores a whole provisioning set and puts it in force for the next call (calls up keep theirs). */
  applyProvisioning(next: Provisioning): Promise<ApplyResult>;
  /** Where the HTTP API listens; null when http.enabled is false. */
  httpAddress(): { address: string; port: number } | null;
  /** Stops everything in reverse order of start and flushes the logs; later calls return the same promise. */
  stop(): Promise<void>;
}

/** Starts a server from a validated config; rejects (after logging) if a component cannot start. */
export async function startTrunkline(config: Config, options: StartOptions = {}): Promise<TrunklineHandle> {
  const syslog = config.log.syslog === undefined ? undefined : createSyslogSink(config.log.syslog);
  const logger =
    options.logger ??
    createLogger({
      level: config.log.level,
      ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
      ...(syslog === undefined ? {} : { syslog }),
    });
  const log = logger.child({ layer: "main" });
  const metrics = createMetricsRegistry();
  if (syslog !== undefined) {
    metrics.counter({ name: "trunkline_syslog_messages_sent_total", help: "RFC 5424 messages handed to the syslog collector", collect: (c) => c.setTotal(undefined, syslog.stats().sent) });
    metrics.counter({ name: "trunkline_syslog_messages_dropped_total", help: "Syslog messages dropped (collector down or slow, queue full)", collect: (c) => c.setTotal(undefined, syslog.stats().dropped) });
  }

  // Everything started so far, stopped in reverse if a later step fails or on stop().
  const stoppers: Stopper[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stoppers.reverse()) {
      try {
        await s.stop();
      } catch (e) {
        log.error({ err: e, component: s.name }, "failed to stop cleanly");
      }
    }
    stoppers.length = 0;
  };

  let storage: Storage;
  let sip: SipStack;
  let calls: CallLayer;
  let registrar: Registrar;
  let health: GatewayHealth | null = null;
  let carrierRegistration: CarrierRegistration;
  let policy: Policy;
  let policyLoaded = false;
  let security: SecurityGuard;
  let fraud: FraudEngine;
  let httpAddress: { address: string; port: number } | null = null;
  // The call layer reads `policy` once per new call, so swapping it here never touches calls in progress.
  const applyProvisioning = async (next: Provisioning): Promise<ApplyResult> => {
    // Customers' passwords become HA1 hashes before anything keeps them (policy or database).
    const hashed = hashProvisioningSecrets(next, config.calls.realm);
    const compiled = compilePolicy(hashed);
    if (!compiled.ok) return { ok: false, errors: compiled.error };
    await storage.provisioning.replace(hashed);
    policy = compiled.value;
    log.info({ customers: next.customers.length, carriers: next.carriers.length, routes: next.routes.length }, "provisioning applied");
    return { ok: true };
  };
  try {
    storage = await openStorage({ ...config.storage, realm: config.calls.realm });
    stoppers.push({ name: "storage", stop: () => storage.close() });
    log.info({ driver: config.storage.driver, path: config.storage.path, migrationsApplied: storage.migrationsApplied }, "storage open");
    const sipLadder = startSipLadder(config, storage, logger, stoppers);

    // SIP before storage in the stop order: calls still ending write their records.
    const sipLog = logger.child({ layer: "sip" });
    // Before policy is loaded nothing is trusted; carriers are trusted from the policy in force.
    security = createSecurityGuard({
      settings: config.security,
      policy: () => (policyLoaded ? policy : undefined),
      clock: systemClock,
      logger: logger.child({ layer: "security" }),
      // Bans survive a restart: an attacker is not let back in by a deploy.
      store: storage.bans,
      initialBans: await storage.bans.loadActive(Date.now()),
    });
    const guard = security;
    stoppers.push({ name: "security", stop: async () => guard.stop() });
    sip = await createSipStack({ ...sipStackOptions(config, sipLog), screen: guard.screen, connectionGate: guard.connectionGate, datagramGate: guard.datagramGate, ...(sipLadder === null ? {} : { tap: sipLadder }) });
    stoppers.push({ name: "sip", stop: () => sip.close() });
    const udpIo = sip.transport.udpIo;
    log.info(
      { listening: sip.transport.listening(), ...(udpIo === undefined ? {} : { udpIo: udpIo.kind }), ...(udpIo?.reason === undefined ? {} : { udpIoReason: udpIo.reason }) },
      "sip listening",
    );
    if (config.sip.tls?.verifyServer === false) log.warn({ security: true }, "sip.tls.verifyServer is false: outbound TLS peers are not authenticated");

    // Calls that were up when the last process died get their records closed before new ones start.
    const interrupted = await storage.cdrs.closeInterrupted(Date.now());
    if (interrupted > 0) log.warn({ interrupted }, "closed call records left open by the previous run");
    // replace() hashes customers' passwords in the storage's realm (calls.realm) before keeping them.
    if (config.provisioning !== undefined) await storage.provisioning.replace(config.provisioning);
    const compiled = compilePolicy(await storage.provisioning.load());
    if (!compiled.ok) throw new ProvisioningError(compiled.error);
    policy = compiled.value;
    policyLoaded = true;
    const currentPolicy = (): Policy => policy;
    fraud = await startFraudEngine(config, storage, logger, stoppers);

    const callLog = logger.child({ layer: "call" });
    const nonceSecret = config.calls.nonceSecret ?? randomBytes(32).toString("hex");
    registrar = createRegistrar({
      stack: sip,
      policy: currentPolicy,
      bindings: storage.bindings,
      clock: systemClock,
      logger: callLog.child({ component: "registrar" }),
      onAuthFailure: (source, account) => security.recordAuthFailure(source, account),
      accountLock: (account) => security.accountLock(account),
      options: {
        realm: config.calls.realm,
        nonceSecret,
        minExpires: config.registrar.minExpiresSeconds,
        maxExpires: config.registrar.maxExpiresSeconds,
        defaultExpires: config.registrar.defaultExpiresSeconds,
        maxBindingsPerAor: config.registrar.maxBindingsPerAor,
        algorithms: [...config.calls.digestAlgorithms],
      },
    });
    stoppers.push({ name: "registrar", stop: async () => registrar.stop() });

    if (config.health.enabled) {
      const h = createGatewayHealth({
        stack: sip,
        targets: () => healthTargets(policy),
        clock: systemClock,
        logger: callLog.child({ component: "health" }),
        options: { intervalMs: config.health.intervalMs, timeoutMs: config.health.timeoutMs, downAfter: config.health.downAfter, upAfter: config.health.upAfter },
      });
      h.start();
      health = h;
      stoppers.push({ name: "health", stop: async () => h.stop() });
    }

    carrierRegistration = createCarrierRegistration({
      stack: sip,
      carriers: () => [...policy.carriers.values()],
      clock: systemClock,
      logger: callLog.child({ component: "carrier-registration" }),
      options: { contactUri: contactUri(sip) },
    });
    carrierRegistration.start();
    stoppers.push({ name: "carrier-registration", stop: () => carrierRegistration.stop() });

    // The RTP relay: created before the call layer and, pushed before it, closed after it.
    let mediaAnchor: MediaAnchor | undefined;
    if (config.media.enabled && config.media.backend === "rtpengine") {
      mediaAnchor = (await startRtpengineAnchor(config, logger, stoppers)) satisfies MediaAnchor;
    }
    if (config.media.enabled && config.media.backend === "relay") {
      const relayOptions = {
        address: config.media.address,
        portMin: config.media.portMin,
        portMax: config.media.portMax,
        mediaTimeoutMs: config.media.timeoutSeconds * 1000,
        oneWayAfterMs: config.media.oneWayAudioSeconds * 1000,
        io: config.media.io,
        ...(config.media.realtimePriority === undefined ? {} : { realtimePriority: config.media.realtimePriority }),
      };
      // Worker threads keep RTP off the signaling event loop; 0 relays on the main thread.
      const relay = config.media.workers === 0
        ? createMediaRelay({ ...relayOptions, logger: logger.child({ layer: "media" }) })
        : createWorkerMediaRelay({ ...relayOptions, workers: config.media.workers, logger: logger.child({ layer: "media" }) });
      stoppers.push({ name: "media", stop: () => relay.close() });
      mediaAnchor = relayMediaAnchor(relay) satisfies MediaAnchor;
    }

    calls = createCallLayer({
      stack: sip,
      ...(mediaAnchor !== undefined ? { media: mediaAnchor } : {}),
      policy: currentPolicy,
      cdrs: storage.cdrs,
      // Each call's final CDR also feeds /metrics (result, media quality, fraud verdicts).
      onCallEnded: (record) => serverMetrics.callEnded(record),
      bindings: storage.bindings,
      clock: systemClock,
      logger: callLog,
      onAuthFailure: (source, account) => security.recordAuthFailure(source, account),
      accountLock: (account) => security.accountLock(account),
      ...(health === null ? {} : { health }),
      ...(sipLadder === null ? {} : { sipLadder }),
      fraud,
      options: {
        realm: config.calls.realm,
        nonceSecret,
        maxCallDurationMs: config.calls.maxDurationSeconds * 1000,
        sessionTimerSeconds: config.calls.sessionTimerSeconds,
        minSessionExpiresSeconds: config.calls.minSessionExpiresSeconds,
        referPolicy: config.calls.refer,
        inviteTimeoutMs: config.calls.inviteTimeoutMs,
        digestAlgorithms: [...config.calls.digestAlgorithms],
        registrationForking: config.calls.registrationForking,
      },
    });
    // Stopped first: ending calls still needs the stack and writes records to storage.
    stoppers.push({ name: "calls", stop: () => calls.stop() });

    const callLayer = calls;
    const gatewayHealth = health;
    const serverMetrics = registerServerMetrics(metrics, {
      activeCalls: () => callLayer.activeCalls(),
      trunks: () => [
        ...[...policy.customers.keys()].map((id) => ({ id, kind: "customer" as const })),
        ...[...policy.carriers.keys()].map((id) => ({ id, kind: "carrier" as const })),
      ],
      channelUse: (id) => callLayer.channelUse(id),
      sipCounters: sip.counters,
      transactions: () => sip.transactions.size(),
      gatewayHealth: () => gatewayHealth?.state() ?? null,
      registrations: () => carrierRegistration.state(),
      security: () => guard.stats(),
    });
    stoppers.push({ name: "metrics", stop: async () => serverMetrics.stop() });

    if (config.http.enabled) {
      const listen = parseHostPort(config.http.listen);
      if (listen === undefined) throw new Error(`http.listen: not host:port: ${config.http.listen}`);
      const tls = config.http.tls;
      const app = buildHttpApp(
        {
          provisioning: storage.provisioning,
          cdrs: storage.cdrs,
          calls: callLayer,
          policy: currentPolicy,
          health: { gateways: () => gatewayHealth?.state() ?? null, registrations: () => carrierRegistration.state() },
          metrics,
          applyProvisioning,
          tokens: config.http.tokens,
          metricsNeedToken: !isLoopbackAddress(listen.address),
          bans: security,
          accountLocks: security,
          fraud,
          ...(sipLadder === null ? {} : { sipLadders: sipLadder }),
          logger: logger.child({ layer: "http" }),
        },
        tls === undefined ? {} : { https: { key: await readFile(tls.keyFile), cert: await readFile(tls.certFile) } },
      );
      // Pushed last, so stopped first: no API request can reach a layer that is stopping.
      stoppers.push({ name: "http", stop: () => app.close() });
      await app.listen({ host: listen.address, port: listen.port });
      const bound = app.server.address();
      httpAddress = typeof bound === "object" && bound !== null ? { address: bound.address, port: bound.port } : listen;
      log.info({ listening: httpAddress, tls: tls !== undefined, tokens: config.http.tokens.length }, "http listening");
    }
  } catch (e) {
    log.fatal({ err: e }, "trunkline failed to start");
    await stopAll();
    await flushLogger(logger);
    await syslog?.close();
    throw e;
  }

  log.info({ pid: process.pid }, "trunkline started");

  let stopping: Promise<void> | undefined;
  return {
    config,
    logger,
    metrics,
    storage,
    sip,
    calls,
    registrar,
    health,
    carrierRegistration,
    security,
    fraud,
    policy: () => policy,
    applyProvisioning,
    httpAddress: () => httpAddress,
    stop() {
      stopping ??= (async () => {
        log.info("trunkline stopping");
        await stopAll();
        log.info("trunkline stopped");
        await flushLogger(logger);
        await syslog?.close();
      })();
      return stopping;
    },
  };
}

/**
 * The rtpengine media backend: an ng client towards media.rtpengine and the anchor driving it,
 * plus the socket for rtpengine's DTMF log when dtmfLogListen is set (a bind failure stops the
 * start). An unreachable rtpengine is logged, not fatal: calls get 503 until it answers.
 */
async function startRtpengineAnchor(config: Config, logger: Logger, stoppers: Stopper[]): Promise<MediaAnchor> {
  const r = config.media.rtpengine;
  const mediaLog = logger.child({ layer: "media", backend: "rtpengine" });
  const client = createNgClient({ address: r.address, port: r.port, timeoutMs: r.timeoutMs });
  stoppers.push({ name: "media", stop: () => client.close() });
  void client.ping().then((pong) => {
    if (pong.ok) mediaLog.info({ address: r.address, port: r.port }, "rtpengine answers");
    else mediaLog.warn({ address: r.address, port: r.port, code: pong.error.code }, "rtpengine does not answer");
  });
  const anchor = rtpengineMediaAnchor({
    client,
    statsIntervalMs: r.statsIntervalMs,
    mediaTimeoutMs: config.media.timeoutSeconds * 1000,
    oneWayAfterMs: config.media.oneWayAudioSeconds * 1000,
    logger: mediaLog,
  });
  const listen = r.dtmfLogListen === undefined ? undefined : parseHostPort(r.dtmfLogListen);
  if (listen !== undefined) {
    // Dropped datagrams are logged at most once a minute with a count, so a flood cannot flood the log.
    let dropped = 0;
    let loggedAt = -Infinity;
    const dtmfLog = await listenRtpengineDtmfLog({
      ...listen,
      from: r.address,
      onEvent: (event) => anchor.dtmfLogged(event),
      onDropped: (reason, source) => {
        dropped++;
        if (Date.now() - loggedAt < 60_000) return;
        loggedAt = Date.now();
        mediaLog.warn({ security: reason === "foreign-source", source, reason, dropped }, "rtpengine DTMF log datagram dropped");
        dropped = 0;
      },
      onError: (error) => mediaLog.error({ err: error }, "rtpengine DTMF log socket error"),
    }).catch((cause: unknown) => {
      throw new Error(`media.rtpengine.dtmfLogListen: cannot listen on ${r.dtmfLogListen}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    });
    stoppers.push({ name: "rtpengine-dtmf-log", stop: () => dtmfLog.close() });
    mediaLog.info({ listen: r.dtmfLogListen }, "listening for rtpengine's DTMF log");
  }
  return anchor;
}

/**
 * Starts per-call SIP capture when trace.sipLadder is enabled (null otherwise): its stop saves the
 * ladders still in memory, so it is pushed after storage and stopped just before storage closes.
 */
function startSipLadder(config: Config, storage: Storage, logger: Logger, stoppers: Stopper[]): SipLadderRecorder | null {
  if (!config.trace.sipLadder.enabled) return null;
  const traceLog = logger.child({ layer: "call", component: "sip-ladder" });
  const hepConfig = config.trace.hep;
  const hep = hepConfig === undefined ? undefined : createHepSender({ host: hepConfig.host, port: hepConfig.port, captureId: hepConfig.captureId, ...(hepConfig.authKey === undefined ? {} : { authKey: hepConfig.authKey }) }, traceLog);
  if (hep !== undefined) stoppers.push({ name: "hep", stop: () => hep.close() });
  const recorder = createSipLadderRecorder({
    repository: storage.sipLadders,
    clock: systemClock,
    logger: traceLog,
    ...(hep === undefined ? {} : { sink: hep }),
    options: { retentionMs: config.trace.sipLadder.retentionHours * 3600 * 1000, maxMessagesPerCall: config.trace.sipLadder.maxMessagesPerCall },
  });
  stoppers.push({ name: "sip-ladder", stop: () => recorder.stop() });
  return recorder;
}

/** Maps the validated config onto the SIP stack's options. */
export function sipStackOptions(config: Config, logger: Logger): SipStackOptions {
  const sip = config.sip;
  return {
    listen: sip.listen.map((l) => ({ protocol: l.protocol.toUpperCase() as "UDP" | "TCP" | "TLS", address: l.address, port: l.port })),
    ...(sip.tls === undefined
      ? {}
      : {
          tls: {
            certFile: sip.tls.certFile,
            keyFile: sip.tls.keyFile,
            requireClientCert: sip.tls.requireClientCert,
            requestClientCert: sip.tls.requestClientCert,
            verifyServer: sip.tls.verifyServer,
            minVersion: sip.tls.minVersion,
            ciphers: sip.tls.ciphers,
            reloadCheckMs: sip.tls.reloadCheckMs,
            ...(sip.tls.caFile === undefined ? {} : { caFile: sip.tls.caFile }),
          },
          onTlsEvent: (event) => logTlsEvent(logger, event),
        }),
    maxMessageSize: sip.maxMessageSize,
    udpIo: sip.udpIo,
    maxConnections: sip.maxConnections,
    idleTimeoutMs: sip.idleTimeoutMs,
    messageTimeoutMs: sip.messageTimeoutMs,
    timers: { t1: sip.timers.t1Ms, t2: sip.timers.t2Ms, t4: sip.timers.t4Ms },
    userAgent: sip.userAgent,
    // 100rel: reliable provisionals are passed end to end by the call layer (RFC 3262).
    capabilities: { supported: ["100rel", "timer", "replaces", "path"] },
    logger,
    onError: (error) => {
      if (error.code === "ERR_TRANSPORT_SLOW" && error.remote !== undefined) {
        securityEvent(logger, { source: `${error.remote.address}:${error.remote.port}`, reason: "slow-sender", detail: error.message });
      } else if (peerHungUp(error)) {
        // The peer's doing, not ours; at error level an attacker resetting connections would flood the log.
        logger.debug({ code: error.code, cause: (error.cause as NodeJS.ErrnoException).code, remote: error.remote }, "transport peer hung up");
      } else logger.error({ err: error, code: error.code }, "transport error");
    },
  };
}

/** TLS failures are security events; certificate reloads are operational news. */
function logTlsEvent(logger: Logger, event: TlsEvent): void {
  if (event.kind === "handshake-failed") {
    securityEvent(logger, {
      source: `${event.remote.address}:${event.remote.port}`,
      reason: "tls-handshake-failed",
      direction: event.direction,
      code: event.code,
      detail: event.reason,
      ...(event.serverName !== undefined ? { serverName: event.serverName } : {}),
    });
  } else if (event.kind === "reloaded") {
    logger.info({ certFile: event.certFile, subject: event.subject, validTo: event.validTo }, "TLS certificate reloaded");
  } else {
    logger.error({ certFile: event.certFile, code: event.code, detail: event.reason }, "TLS certificate files changed but do not load; the previous certificate stays in use");
  }
}

/** Provisioning that does not compile (overlapping DIDs, a route to an unknown carrier, ...). */
export class ProvisioningError extends Error {
  readonly code = "PROVISIONING_INVALID";
  constructor(readonly issues: readonly string[]) {
    super(`provisioning is invalid:\n  ${issues.join("\n  ")}`);
    this.name = "ProvisioningError";
  }
}

/** Our Contact for registrations to carriers: the first UDP (else any) listener. */
function contactUri(sip: SipStack): string {
  const listening = sip.transport.listening();
  const protocol = listening.some((l) => l.protocol === "UDP") ? "UDP" : (listening[0]?.protocol ?? "UDP");
  const { host, port } = listeningAddress(sip, protocol);
  return `sip:trunkline@${host}:${port}${protocol === "UDP" ? "" : `;transport=${protocol.toLowerCase()}`}`;
}

/**
 * The toll-fraud engine: ranges from security.fraud.rangesFile (a bad file at start is a start
 * failure; later, a bad reload keeps the list in force), reloaded on change and on SIGHUP;
 * suspensions from storage; this month's spend from the stored CDRs.
 */
async function startFraudEngine(config: Config, storage: Storage, logger: Logger, stoppers: Stopper[]): Promise<FraudEngine> {
  const settings = config.security.fraud;
  const log = logger.child({ layer: "call" });
  const rangesFile = settings.rangesFile;
  const ranges = rangesFile === undefined ? undefined : await loadFraudRangesFile(rangesFile);
  if (ranges !== undefined && !ranges.ok) throw new Error(`security.fraud.rangesFile: ${ranges.error.join("; ")}`);
  const fraud = createFraudEngine({
    clock: systemClock,
    logger: log,
    ...(ranges !== undefined ? { ranges: ranges.value } : {}),
    suspensions: storage.fraudSuspensions,
    initialSuspensions: await storage.fraudSuspensions.list(),
    options: { webhookUrl: settings.webhookUrl, webhookTimeoutMs: settings.webhookTimeoutMs },
  });
  await fraud.loadSpend(storage.cdrs);
  if (rangesFile !== undefined) {
    const watch = watchFraudRangesFile(rangesFile, (r) => fraud.setRanges(r), log.child({ component: "fraud" }));
    const onHup = (): void => void watch.reload();
    process.on("SIGHUP", onHup);
    stoppers.push({
      name: "fraud-ranges",
      stop: async () => {
        process.off("SIGHUP", onHup);
        watch.stop();
      },
    });
  }
  stoppers.push({ name: "fraud-alerts", stop: () => fraud.drain() });
  log.info({ rangesVersion: fraud.rangesVersion, suspended: fraud.suspensions().length, webhook: settings.webhookUrl !== undefined }, "fraud engine ready");
  return fraud;
}

/** A write failed because the peer reset or closed its connection. */
function peerHungUp(error: TransportError): boolean {
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  return error.code === "ERR_TRANSPORT_SEND" && (cause?.code === "EPIPE" || cause?.code === "ECONNRESET");
}
