import { type Result, ok, err } from "../lib/index.ts";
import { type CidrMatcher, createCidrMatcher, formatAddress, parseAddress } from "./cidr.ts";

/**
 * Addresses that security rules never limit, lock out or ban: carrier gateways and the
 * operator's own networks. A banned carrier would take every inbound call down with it.
 */
export interface TrustedNetworks {
  /** The trusted block holding `address`, if any (its CIDR text, for the operator). */
  trustedBy(address: string): string | undefined;
}

/** Trusts nothing: the default for tests and for a server with no carrier yet. */
export const NO_TRUSTED_NETWORKS: TrustedNetworks = { trustedBy: () => undefined };

/** Builds trusted networks from CIDR texts (carrier `sourceCidrs` plus configured trusted networks). */
export function createTrustedNetworks(cidrs: Iterable<string>): Result<TrustedNetworks, string[]> {
  const entries: [string, true][] = [];
  for (const c of cidrs) entries.push([c, true]);
  const matcher = createCidrMatcher(entries);
  if (!matcher.ok) return err(matcher.error);
  return ok(trustedFromMatcher(matcher.value));
}

/** Wraps an existing CidrMatcher (e.g. the identifier's) so its blocks count as trusted. */
export function trustedFromMatcher<T>(matcher: Pick<CidrMatcher<T>, "match">): TrustedNetworks {
  return { trustedBy: (address) => matcher.match(address)?.cidr };
}

/**
 * The canonical text of an address, so `::ffff:192.0.2.1`, `[2001:db8::1]` and
 * `2001:DB8:0::1` each key one table entry; undefined when it is not an address.
 */
export function canonicalAddress(text: string): string | undefined {
  const parsed = parseAddress(text);
  return parsed === undefined ? undefined : formatAddress(parsed);
}

/**
 * What a security decision tells the observability layer and the webhook: which rule fired,
 * against which source and account, what was done, and why. Plain data, ready for JSON.
 */
export interface SecurityEvent {
  readonly rule: string;
  readonly action: string;
  readonly reason: string;
  readonly at: number;
  readonly source?: string;
  readonly account?: string;
  readonly data?: Readonly<Record<string, string | number | boolean>>;
}

/** A ban the caller is asked to place through `BanList.ban`; durations grow there on repeat. */
export interface BanRequest {
  readonly rule: string;
  readonly reason: string;
  /** First-offence duration for this rule; the ban list's own base when absent. */
  readonly baseMs?: number;
}
