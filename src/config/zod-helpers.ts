import { z } from "zod";

// Every leaf carries its own message so that an error reads the same whatever zod check
// failed (wrong type, fraction, out of range): `sip.listen[1].port: expected a number from 0 to 65535`.

/** A whole number in [min, max], one message for every failure. */
export function intRange(min: number, max: number) {
  const message = `expected a whole number from ${min} to ${max}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
}

/** A whole number of at least 1. */
export function positiveInt(what = "a whole number greater than 0") {
  const message = `expected ${what}`;
  return z.number({ error: message }).int({ error: message }).min(1, { error: message }).max(Number.MAX_SAFE_INTEGER, {
    error: message,
  });
}

/** A string of at least one character. */
export function nonEmptyString(what: string) {
  const message = `expected ${what}`;
  return z.string({ error: message }).min(1, { error: message });
}

/** One of the listed strings, named in the message. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${values.map((v) => `"${v}"`).join(", ")}` });
}

/** A mapping whose unknown keys are errors: a typo must never be silently ignored. */
export function section<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, { error: "expected a mapping (key: value lines)" });
}

