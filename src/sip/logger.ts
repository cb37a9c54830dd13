/**
 * The logging the SIP stack needs, by shape: a pino Logger satisfies it, and the stack imports
 * nothing from the observability layer above it.
 */
export interface SipLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): SipLogger;
}

const noop = (): void => {};

/** A logger that discards everything (the default for library users). */
export const silentLogger: SipLogger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};
