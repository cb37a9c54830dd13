import { pino, type DestinationStream, type Logger, type LevelWithSilent } from "pino";
import type { SyslogSink } from "./syslog.ts";

export type { Logger, DestinationStream };

/** Options of createLogger; the level comes from config (`log.level`). */
export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Where JSON lines go. Default: stdout through an asynchronous SonicBoom, flushed by flushLogger(). */
  readonly destination?: DestinationStream;
  /** Fields on every line, e.g. { service: "trunkline" }. */
  readonly base?: Record<string, unknown>;
  /** Also sends security events (and, if it says so, every warning) there as RFC 5424 syslog. */
  readonly syslog?: SyslogSink;
}

// Level labels of the lines a syslog sink may want; the rest are not even parsed.
const WARN_OR_WORSE = /"level":"(?:warn|error|fatal)"/;

/** A destination that writes every line to `primary` and hands warnings and worse to the syslog sink. */
function teeToSyslog(primary: DestinationStream, syslog: SyslogSink): DestinationStream {
  const flushable = primary as DestinationStream & { flush?: (cb?: (err?: Error) => void) => void; flushSync?: () => void };
  return {
    write(line: string): void {
      primary.write(line);
      if (WARN_OR_WORSE.test(line)) syslog.writeLogLine(line);
    },
    // flushLogger() reaches the primary stream's buffer through these.
    flush(cb?: (err?: Error) => void): void {
      if (typeof flushable.flush === "function") flushable.flush(cb);
      else cb?.();
    },
    flushSync(): void {
      if (typeof flushable.flushSync === "function") flushable.flushSync();
    },
  } as DestinationStream;
}

/**
 * The one root logger: JSON, one event per line. Layers take `logger.child({ layer: "sip" })`;
 * a call takes `logger.child({ callId, trunk })` so every line of a call can be found by its id.
 */
export function createLogger(options: LoggerOptions): Logger {
  // Asynchronous stdout keeps logging off the signalling hot path; flushLogger() drains it at stop.
  const primary = options.destination ?? pino.destination({ dest: 1, sync: false });
  const destination = options.syslog === undefined ? primary : teeToSyslog(primary, options.syslog);
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
