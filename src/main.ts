// The composition root: the only file that imports every layer. It builds the server in the
// order of ARCHITECTURE.md (config -> logger -> storage -> media -> sip -> call -> http) and
// tears it down in reverse.
import type { Config } from "./config/index.ts";
import { createLogger, createMetricsRegistry, flushLogger, type DestinationStream, type Logger, type MetricsRegistry } from "./observability/index.ts";
import type { Storage } from "./ports/index.ts";
import { openStorage } from "./storage/index.ts";
import { createSipStack, type SipStack, type SipStackOptions } from "./sip/index.ts";

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
  /** Stops everything in reverse order of start and flushes the logs; later calls return the same promise. */
  stop(): Promise<void>;
}

/** Starts a server from a validated config; rejects (after logging) if a component cannot start. */
export async function startTrunkline(config: Config, options: StartOptions = {}): Promise<TrunklineHandle> {
  const logger =
    options.logger ??
    createLogger(options.logDestination === undefined ? { level: config.log.level } : { level: config.log.level, destination: options.logDestination });
  const log = logger.child({ layer: "main" });
  const metrics = createMetricsRegistry();

  // Everything started so far, stopped in reverse if a later step fails or on stop().
  const stoppers: Array<{ name: string; stop: () => Promise<void> }> = [];
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
  try {
    storage = await openStorage(config.storage);
    stoppers.push({ name: "storage", stop: () => storage.close() });
    log.info({ driver: config.storage.driver, path: config.storage.path, migrationsApplied: storage.migrationsApplied }, "storage open");

    // SIP before storage in the stop order: calls still ending write their records.
    const sipLog = logger.child({ layer: "sip" });
    sip = await createSipStack(sipStackOptions(config, sipLog));
    stoppers.push({ name: "sip", stop: () => sip.close() });
    log.info({ listening: sip.transport.listening() }, "sip listening");
  } catch (e) {
    log.fatal({ err: e }, "trunkline failed to start");
    await stopAll();
    await flushLogger(logger);
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
    stop() {
      stopping ??= (async () => {
        log.info("trunkline stopping");
        await stopAll();
        log.info("trunkline stopped");
        await flushLogger(logger);
      })();
      return stopping;
    },
  };
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
            ...(sip.tls.caFile === undefined ? {} : { caFile: sip.tls.caFile }),
          },
        }),
    maxMessageSize: sip.maxMessageSize,
    maxConnections: sip.maxConnections,
    idleTimeoutMs: sip.idleTimeoutMs,
    timers: { t1: sip.timers.t1Ms, t2: sip.timers.t2Ms, t4: sip.timers.t4Ms },
    userAgent: sip.userAgent,
    logger,
    onError: (error) => logger.error({ err: error, code: error.code }, "transport error"),
  };
}
