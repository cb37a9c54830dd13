import { pino, type DestinationStream, type Logger, type LevelWithSilent } from "pino";

export type { Logger, DestinationStream };

/** Options of createLogger; the level comes from config (`log.level`). */
export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Where JSON lines go. Default: stdout through an asynchronous SonicBoom, flushed by flushLogger(). */
  readonly destination?: DestinationStream;
  /** Fields on every line, e.g. { service: "trunkline" }. */
  readonly base?: Record<string, unknown>;
}

/**
 * The one root logger: JSON, one event per line. Layers take `logger.child({ layer: "sip" })`;
 * a call takes `logger.child({ callId, trunk })` so every line of a call can be found by its id.
 */
export function createLogger(options: LoggerOptions): Logger {
  // Asynchronous stdout keeps logging off the signalling hot path; flushLogger() drains it at stop.
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level: options.level,
      base: options.base ?? { service: "trunkline" },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names rather than numbers: operators grep for "warn", not 40.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Writes out everything buffered; call before the process exits. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolveFlush) => {
    try {
      logger.flush(() => resolveFlush());
    } catch {
      // A destination without flush support has nothing buffered.
      resolveFlush();
    }
  });
}

/** What a security event records: who (source address), which account if known, and why. */
export interface SecurityEvent {
  /** Source address, `ip` or `ip:port`. */
  readonly source: string;
  readonly account?: string;
  /** Short stable reason such as `auth-failed`, `acl-denied`, `rate-limited`, `banned`. */
  readonly reason: string;
  readonly [field: string]: unknown;
}

/**
 * Logs a security-relevant event at warn with `security: true`, the one field that log shippers
 * and fail2ban-style tools filter on.
 */
export function securityEvent(logger: Logger, event: SecurityEvent): void {
  logger.warn({ ...event, security: true }, `security: ${event.reason}`);
}
