import { type Result, ok, err } from "../lib/index.ts";
import type { CarrierNumbering, E164, NumberingPlan } from "./types.ts";

/** Why a string could not be read as a telephone number. */
export interface NumberingError {
  readonly code: "EMPTY" | "NOT_DIGITS" | "TOO_LONG" | "LEADING_ZERO";
  readonly input: string;
  readonly message: string;
}

// Visual separators of RFC 3966 (5.1.1) plus the slash and spaces people type.
const VISUAL_SEPARATORS = /[\s\-.()/]/g;
// E.164 (ITU-T E.164 section 6): at most 15 digits, country code never starts with 0.
const MAX_E164_DIGITS = 15;

/** The national (trunk) prefix of a plan: NANP dials `1`, most others `0`. */
export function nationalPrefixOf(plan: NumberingPlan): string {
  return plan.nationalPrefix ?? (plan.countryCode === "1" ? "1" : "0");
}

/** The international call prefix of a plan: NANP dials `011`, most others `00`. */
export function internationalPrefixOf(plan: NumberingPlan): string {
  return plan.internationalPrefix ?? (plan.countryCode === "1" ? "011" : "00");
}

function fail(code: NumberingError["code"], input: string, message: string): Result<E164, NumberingError> {
  return err({ code, input, message: `${JSON.stringify(input)}: ${message}` });
}

/**
 * Normalizes a dialled or received number to E.164 (`+` and digits) under the source trunk's plan.
 * `+…` and `<international prefix>…` are international whatever the plan; otherwise an `e164`
 * or `e164-plus` trunk sends full numbers without `+`, and a `national` trunk sends national
 * numbers, with or without the national prefix, in its own country.
 */
export function normalizeNumber(input: string, plan: NumberingPlan): Result<E164, NumberingError> {
  // "+44 (0)20 …" marks the national prefix one must not dial from abroad: drop it first.
  const cleaned = input.replace(/\(0\)/g, "").replace(VISUAL_SEPARATORS, "");
  if (cleaned === "") return fail("EMPTY", input, "empty number");
  let digits: string;
  if (cleaned.startsWith("+")) {
    digits = cleaned.slice(1);
  } else {
    const intl = internationalPrefixOf(plan);
    if (intl !== "" && cleaned.startsWith(intl) && cleaned.length > intl.length) {
      digits = cleaned.slice(intl.length);
    } else if (plan.format === "national") {
      const trunk = nationalPrefixOf(plan);
      const significant = trunk !== "" && cleaned.startsWith(trunk) ? cleaned.slice(trunk.length) : cleaned;
      digits = plan.countryCode + significant;
    } else {
      digits = cleaned;
    }
  }
  if (!/^[0-9]+$/.test(digits)) return fail("NOT_DIGITS", input, "not a telephone number");
  if (digits.startsWith("0")) return fail("LEADING_ZERO", input, "country code cannot start with 0");
  if (digits.length > MAX_E164_DIGITS) return fail("TOO_LONG", input, "longer than 15 digits");
  return ok("+" + digits);
}

/**
 * Writes an E.164 number the way a carrier wants it, tech prefix first. In `national` format a
 * number of another country gets the international prefix, as a national dialler would dial it.
 */
export function formatForCarrier(number: E164, numbering: CarrierNumbering): string {
  const digits = number.startsWith("+") ? number.slice(1) : number;
  let body: string;
  switch (numbering.format) {
    case "e164-plus":
      body = "+" + digits;
      break;
    case "e164":
      body = digits;
      break;
    case "national":
      body = digits.startsWith(numbering.countryCode)
        ? nationalPrefixOf(numbering) + digits.slice(numbering.countryCode.length)
        : internationalPrefixOf(numbering) + digits;
      break;
  }
  return (numbering.techPrefix ?? "") + body;
}

/** The number part of a SIP/tel URI or of a bare user part, with its `phone-context` if any. */
export interface ExtractedNumber {
  /** The user part without parameters, percent-decoding undone, e.g. `+44 20 7123 4567`. */
  readonly number: string;
  /** RFC 3966 `phone-context` (e.g. `+44`), which qualifies a local number. */
  readonly phoneContext?: string;
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    // A stray % is kept literally: the number check that follows refuses it anyway.
    return s;
  }
}

/**
 * Extracts the telephone number from `sip:+4420…@host;user=phone`, `tel:+44…;phone-context=…`
 * or a bare user part `0044…;isub=1`. The result is not yet normalized.
 */
export function extractNumber(uriOrUser: string): ExtractedNumber {
  let s = uriOrUser.trim();
  if (s.startsWith("<") && s.endsWith(">")) s = s.slice(1, -1);
  const scheme = /^(sips?|tel):/i.exec(s);
  if (scheme !== null) s = s.slice(scheme[0].length);
  const at = s.lastIndexOf("@");
  // tel: URIs have no host; in sip: URIs the user part ends at the last @ (RFC 3261 19.1.1).
  if (at >= 0) s = s.slice(0, at);
  const [userPart = "", ...params] = s.split(";");
  let phoneContext: string | undefined;
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq >= 0 && p.slice(0, eq).trim().toLowerCase() === "phone-context") phoneContext = percentDecode(p.slice(eq + 1).trim());
  }
  const number = percentDecode(userPart);
  return phoneContext === undefined ? { number } : { number, phoneContext };
}

/**
 * Extracts and normalizes in one step. A `phone-context` that is a global number prefix
 * (`+1-914-555`) is prepended to a local number (RFC 3966 5.1.5); a domain context is ignored.
 */
export function numberFromUri(uriOrUser: string, plan: NumberingPlan): Result<E164, NumberingError> {
  const { number, phoneContext } = extractNumber(uriOrUser);
  if (phoneContext !== undefined && phoneContext.startsWith("+") && !number.startsWith("+")) {
    return normalizeNumber(phoneContext + number, plan);
  }
  return normalizeNumber(number, plan);
}
