import { type Result, ok, err } from "../lib/index.ts";
import type { E164 } from "./types.ts";

/** One listed range: an E.164 prefix with `+`, what it is, and why it is listed. */
export interface RangeEntry {
  readonly prefix: string;
  readonly label: string;
  readonly note?: string;
}

/** Shipped or configured range lists, versioned so an alert can say which list decided. */
export interface FraudRangeData {
  readonly version: string;
  readonly highRisk: readonly RangeEntry[];
  readonly premium: readonly RangeEntry[];
}

/**
 * Destinations frequently abused for International Revenue Share Fraud (IRSF) and one-ring
 * (wangiri) callbacks. Sources: public carrier "high-risk destination" advisories, the CFCA and
 * industry reports on advertised IPRN test numbers (Cuba, Latvia, Lithuania, Somalia and small
 * Pacific and West African networks recur), the FTC and BBB warnings about NANP Caribbean area
 * codes used in one-ring scams, and ITU's non-geographic codes (+979 is the International Premium
 * Rate Service; +881/+882/+883 are satellite and international networks with high termination
 * rates). It is a starting point, not a verdict on any country: IRSF moves to new ranges every
 * month, so operators should override it from config with a maintained feed.
 */
export const DEFAULT_FRAUD_RANGES: FraudRangeData = {
  version: "trunkline-2026.1",
  highRisk: [
    { prefix: "+979", label: "International Premium Rate Service (ITU)" },
    { prefix: "+881", label: "Global Mobile Satellite System" },
    { prefix: "+882", label: "International Networks" },
    { prefix: "+883", label: "International Networks" },
    { prefix: "+870", label: "Inmarsat" },
    { prefix: "+53", label: "Cuba" },
    { prefix: "+371", label: "Latvia", note: "recurring top IPRN destination" },
    { prefix: "+370", label: "Lithuania", note: "recurring top IPRN destination" },
    { prefix: "+252", label: "Somalia" },
    { prefix: "+232", label: "Sierra Leone" },
    { prefix: "+224", label: "Guinea" },
    { prefix: "+245", label: "Guinea-Bissau" },
    { prefix: "+220", label: "Gambia" },
    { prefix: "+231", label: "Liberia" },
    { prefix: "+235", label: "Chad" },
    { prefix: "+239", label: "Sao Tome and Principe" },
    { prefix: "+222", label: "Mauritania" },
    { prefix: "+242", label: "Congo" },
    { prefix: "+243", label: "DR Congo" },
    { prefix: "+269", label: "Comoros" },
    { prefix: "+263", label: "Zimbabwe" },
    { prefix: "+216", label: "Tunisia" },
    { prefix: "+246", label: "Diego Garcia" },
    { prefix: "+290", label: "Saint Helena" },
    { prefix: "+500", label: "Falkland Islands" },
    { prefix: "+674", label: "Nauru" },
    { prefix: "+675", label: "Papua New Guinea" },
    { prefix: "+677", label: "Solomon Islands" },
    { prefix: "+678", label: "Vanuatu" },
    { prefix: "+682", label: "Cook Islands" },
    { prefix: "+683", label: "Niue" },
    { prefix: "+686", label: "Kiribati" },
    { prefix: "+688", label: "Tuvalu" },
    { prefix: "+690", label: "Tokelau" },
    { prefix: "+960", label: "Maldives" },
    { prefix: "+375", label: "Belarus" },
    { prefix: "+381", label: "Serbia" },
    { prefix: "+382", label: "Montenegro" },
    { prefix: "+383", label: "Kosovo" },
    { prefix: "+387", label: "Bosnia and Herzegovina" },
    { prefix: "+355", label: "Albania" },
    // NANP: these look domestic to a US/Canada caller (+1) but are billed as international.
    { prefix: "+1268", label: "Antigua and Barbuda (NANP)", note: "one-ring scam area code" },
    { prefix: "+1284", label: "British Virgin Islands (NANP)", note: "one-ring scam area code" },
    { prefix: "+1473", label: "Grenada (NANP)", note: "one-ring scam area code" },
    { prefix: "+1649", label: "Turks and Caicos (NANP)", note: "one-ring scam area code" },
    { prefix: "+1664", label: "Montserrat (NANP)", note: "one-ring scam area code" },
    { prefix: "+1767", label: "Dominica (NANP)", note: "one-ring scam area code" },
    { prefix: "+1809", label: "Dominican Republic (NANP)", note: "one-ring scam area code" },
    { prefix: "+1829", label: "Dominican Republic (NANP)", note: "one-ring scam area code" },
    { prefix: "+1849", label: "Dominican Republic (NANP)", note: "one-ring scam area code" },
    { prefix: "+1876", label: "Jamaica (NANP)", note: "one-ring scam area code" },
  ],
  // Premium and revenue-sharing ranges from the national numbering plans.
  premium: [
    { prefix: "+1900", label: "NANP premium (900)" },
    { prefix: "+1976", label: "NANP premium (976, legacy)" },
    { prefix: "+4490", label: "UK premium rate (090)" },
    { prefix: "+4491", label: "UK premium rate (091)" },
    { prefix: "+4498", label: "UK premium rate, sexual entertainment (098)" },
    { prefix: "+4487", label: "UK revenue-sharing (087)" },
    { prefix: "+4470", label: "UK personal numbering (070)", note: "often abused, priced like premium" },
    { prefix: "+49900", label: "Germany premium rate (0900)" },
    { prefix: "+49137", label: "Germany mass-traffic (0137)" },
    { prefix: "+3389", label: "France premium rate (089)" },
    { prefix: "+34803", label: "Spain premium rate (803)" },
    { prefix: "+34806", label: "Spain premium rate (806)" },
    { prefix: "+34807", label: "Spain premium rate (807)" },
    { prefix: "+34905", label: "Spain mass-call (905)" },
    { prefix: "+39892", label: "Italy premium rate (892)" },
    { prefix: "+39899", label: "Italy premium rate (899)" },
    { prefix: "+3190", label: "Netherlands premium rate (090x)" },
    { prefix: "+3290", label: "Belgium premium rate (090x)" },
    { prefix: "+61190", label: "Australia premium rate (190x)" },
  ],
};

/** A change to a range list from config: replace it, or add and remove entries. */
export interface FraudRangeOverride {
  readonly version?: string;
  readonly replace?: boolean;
  readonly highRisk?: readonly RangeEntry[];
  readonly premium?: readonly RangeEntry[];
  /** Prefixes to take out of either list (an operator with real traffic to a listed country). */
  readonly remove?: readonly string[];
}

/** A range list indexed for longest-prefix lookup. */
export interface FraudRanges {
  readonly version: string;
  highRiskOf(number: E164): RangeEntry | undefined;
  premiumOf(number: E164): RangeEntry | undefined;
}

/** A prefix as listed ranges and policies compare it: separators dropped, with a leading `+`. */
export function canonicalPrefix(prefix: string): string {
  const p = prefix.replace(/[\s\-.()]/g, "");
  return p.startsWith("+") ? p : "+" + p;
}

/** Applies a config override to a range list; without `replace`, entries are added to the defaults. */
export function mergeFraudRanges(base: FraudRangeData, override: FraudRangeOverride): FraudRangeData {
  const removed = new Set((override.remove ?? []).map(canonicalPrefix));
  const keep = (e: RangeEntry): boolean => !removed.has(canonicalPrefix(e.prefix));
  const pick = (baseList: readonly RangeEntry[], extra: readonly RangeEntry[] | undefined): RangeEntry[] =>
    override.replace === true && extra !== undefined ? extra.filter(keep) : [...baseList, ...(extra ?? [])].filter(keep);
  return {
    version: override.version ?? (override.replace === true ? "custom" : `${base.version}+local`),
    highRisk: pick(base.highRisk, override.highRisk),
    premium: pick(base.premium, override.premium),
  };
}

function index(list: readonly RangeEntry[], name: string, errors: string[]): Map<string, RangeEntry> {
  const map = new Map<string, RangeEntry>();
  for (const e of list) {
    const p = canonicalPrefix(e.prefix);
    if (!/^\+[0-9]{1,15}$/.test(p)) errors.push(`${name}: ${JSON.stringify(e.prefix)} is not an E.164 prefix`);
    // A later entry wins, so a config addition can relabel a default one.
    else map.set(p, { ...e, prefix: p });
  }
  return map;
}

function longest(map: Map<string, RangeEntry>, number: E164): RangeEntry | undefined {
  const n = number.startsWith("+") ? number : "+" + number;
  for (let len = Math.min(n.length, 16); len >= 2; len--) {
    const hit = map.get(n.slice(0, len));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** Validates and indexes range data; errors name the list and the bad prefix. */
export function createFraudRanges(data: FraudRangeData): Result<FraudRanges, string[]> {
  const errors: string[] = [];
  const high = index(data.highRisk, "highRisk", errors);
  const premium = index(data.premium, "premium", errors);
  if (errors.length > 0) return err(errors);
  return ok({
    version: data.version,
    highRiskOf: (number) => longest(high, number),
    premiumOf: (number) => longest(premium, number),
  });
}
