import type { Logger } from "../observability/index.ts";

type Level = "debug" | "info" | "warn" | "error";

/**
 * A call's logger: the layer's logger with the call's bindings (Call-ID, trunk), made into a pino
 * child only when a line is actually written. Every call used to make its child at once (a few
 * microseconds) and keep it for its whole life (~300 bytes), while at the usual level (warn) a
 * call that goes well writes nothing.
 */
export class CallLog {
  private child: Logger | null = null;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Readonly<Record<string, string | null>>,
  ) {}

  /** The child logger itself, for helpers that take a Logger (security events). */
  get logger(): Logger {
    this.child ??= this.parent.child(this.bindings);
    return this.child;
  }

  /** Logs at debug with the call's bindings. */
  debug(fields: object, message: string): void {
    this.write("debug", fields, message);
  }

  /** Logs at info with the call's bindings. */
  info(fields: object, message: string): void {
    this.write("info", fields, message);
  }

  /** Logs at warn with the call's bindings. */
  warn(fields: object, message: string): void {
    this.write("warn", fields, message);
  }

  /** Logs at error with the call's bindings. */
  error(fields: object, message: string): void {
    this.write("error", fields, message);
  }

  private write(level: Level, fields: object, message: string): void {
    if (this.child === null && !this.parent.isLevelEnabled(level)) return;
    this.logger[level](fields, message);
  }
}
