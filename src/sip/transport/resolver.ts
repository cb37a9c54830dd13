import * as dns from "node:dns/promises";
import type { SipUri } from "../message/index.ts";
import { addressFamily, defaultPort, normalizeAddress } from "./address.ts";
import { TransportError, type SendTarget, type TransportProtocol } from "./types.ts";

/** The slice of node:dns/promises that RFC 3263 needs; tests pass a fake. */
export interface DnsResolverLike {
  resolveNaptr(name: string): Promise<Array<{ flags: string; service: string; regexp: string; replacement: string; order: number; preference: number }>>;
  resolveSrv(name: string): Promise<Array<{ name: string; port: number; priority: number; weight: number }>>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

export interface ResolveOptions {
  /** DNS to ask; node:dns/promises (plus the hosts file for names DNS does not know) when absent. */
  readonly resolver?: DnsResolverLike;
  /** Transports we can use, in order of preference when DNS leaves the choice to us. Default UDP, TCP, TLS. */
  readonly transports?: ReadonlyArray<TransportProtocol>;
  /** Random source in [0, 1) for SRV weights (RFC 2782); Math.random when absent. */
  readonly random?: () => number;
}

/** RFC 3263 4.1 NAPTR services and SRV prefixes, per transport. */
const NAPTR_SERVICE: Record<TransportProtocol, string> = { UDP: "SIP+D2U", TCP: "SIP+D2T", TLS: "SIPS+D2T" };
const SRV_PREFIX: Record<TransportProtocol, string> = { UDP: "_sip._udp.", TCP: "_sip._tcp.", TLS: "_sips._tcp." };

interface Target {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number | null;
  readonly transport: string | null;
}

/** Reads what RFC 3263 needs from a `sip:`/`sips:` URI string: scheme, host (maddr wins), port, transport. */
function targetFromString(text: string): Target {
  const m = /^(sips?):(?:[^@;?]*@)?(\[[0-9a-fA-F:.]+\]|[^:;?>]+)(?::(\d{1,5}))?([^?>]*)/i.exec(text.trim().replace(/^<|>$/g, ""));
  if (m === null || m[1] === undefined || m[2] === undefined) {
    throw new TransportError("ERR_TRANSPORT_RESOLVE", `not a sip or sips URI: ${text.slice(0, 100)}`);
  }
  const params: Record<string, string | null> = {};
  for (const part of (m[4] ?? "").split(";").slice(1)) {
    const eq = part.indexOf("=");
    if (eq < 0) params[part.toLowerCase()] = null;
    else params[part.slice(0, eq).toLowerCase()] = part.slice(eq + 1);
  }
  return toTarget(m[1].toLowerCase() === "sips", m[2], m[3] !== undefined ? Number(m[3]) : null, params);
}

function toTarget(secure: boolean, host: string, port: number | null, params: Record<string, string | null>): Target {
  const maddr = params["maddr"];
  const transport = params["transport"];
  return {
    secure,
    // RFC 3263 4: TARGET is maddr when present, else the host.
    host: maddr !== undefined && maddr !== null && maddr !== "" ? maddr : host,
    port,
    transport: transport !== undefined && transport !== null ? transport.toUpperCase() : null,
  };
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === dns.NODATA || code === dns.NOTFOUND || code === "ENODATA" || code === "ENOTFOUND";
}

/** RFC 2782 order: ascending priority; within a priority, a weighted random draw (weight 0 first in the running sum). */
export function orderSrv<T extends { priority: number; weight: number }>(records: ReadonlyArray<T>, random: () => number): T[] {
  const byPriority = new Map<number, T[]>();
  for (const r of records) {
    const group = byPriority.get(r.priority);
    if (group === undefined) byPriority.set(r.priority, [r]);
    else group.push(r);
  }
  const out: T[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const left = [...(byPriority.get(priority) ?? [])].sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (left.length > 0) {
      const total = left.reduce((sum, r) => sum + r.weight, 0);
      const draw = random() * (total + 1);
      let running = 0;
      let pick = left.length - 1;
      for (let i = 0; i < left.length; i++) {
        running += left[i]?.weight ?? 0;
        if (running >= draw) {
          pick = i;
          break;
        }
      }
      out.push(...left.splice(pick, 1));
    }
  }
  return out;
}

class Lookup {
  lastError: unknown = null;
  constructor(
    private readonly dnsApi: DnsResolverLike,
    private readonly useHostsFile: boolean,
  ) {}

  // A missing record is an ordinary answer; other failures are kept so the final error can name them.
  private async ask<T>(query: () => Promise<T[]>): Promise<T[]> {
    try {
      return await query();
    } catch (error) {
      if (!isMissing(error)) this.lastError = error;
      return [];
    }
  }

  naptr(name: string): ReturnType<DnsResolverLike["resolveNaptr"]> {
    return this.ask(() => this.dnsApi.resolveNaptr(name));
  }

  srv(name: string): ReturnType<DnsResolverLike["resolveSrv"]> {
    return this.ask(() => this.dnsApi.resolveSrv(name));
  }

  async addresses(name: string): Promise<string[]> {
    const [v4, v6] = await Promise.all([this.ask(() => this.dnsApi.resolve4(name)), this.ask(() => this.dnsApi.resolve6(name))]);
    const found = [...v4, ...v6];
    if (found.length > 0 || !this.useHostsFile) return found;
    // Names like localhost live in the hosts file, which DNS queries never see.
    const viaLookup = await this.ask(() => dns.lookup(name, { all: true }));
    return viaLookup.map((a) => a.address);
  }
}

function chooseTransport(target: Target, allowed: ReadonlyArray<TransportProtocol>): TransportProtocol {
  if (target.transport !== null) {
    if (target.transport === "TLS" || (target.secure && target.transport === "TCP")) return "TLS";
    if (target.transport === "TCP") return "TCP";
    if (target.transport === "UDP" && !target.secure) return "UDP";
    throw new TransportError("ERR_TRANSPORT_RESOLVE", `unsupported transport ${target.transport}${target.secure ? " for sips" : ""}`);
  }
  // RFC 3263 4.1: numeric host or explicit port: UDP for sip, TCP (TLS) for sips.
  if (target.secure) return "TLS";
  return allowed.includes("UDP") ? "UDP" : (allowed[0] ?? "UDP");
}

/**
 * RFC 3263 section 4: turns a SIP URI into an ordered list of next hops (transport, address, port).
 * Rejects with ERR_TRANSPORT_RESOLVE when nothing usable is found.
 */
export async function resolveTarget(uri: SipUri | string, options: ResolveOptions = {}): Promise<SendTarget[]> {
  const target = typeof uri === "string" ? targetFromString(uri) : toTarget(uri.scheme === "sips", uri.host, uri.port, uri.params);
  const allowed = (options.transports ?? ["UDP", "TCP", "TLS"]).filter((p) => !target.secure || p === "TLS");
  const random = options.random ?? Math.random;
  const host = normalizeAddress(target.host);

  if (addressFamily(target.host) !== 0) {
    const protocol = chooseTransport(target, allowed);
    return [{ protocol, remote: { address: host, port: target.port ?? defaultPort(protocol) } }];
  }

  const lookup = new Lookup(options.resolver ?? dns, options.resolver === undefined);
  const domain = target.host.toLowerCase().replace(/\.$/, "");
  // RFC 5922: a TLS peer's certificate is checked against the domain of the URI, not the SRV target.
  const named = (protocol: TransportProtocol, address: string, port: number): SendTarget =>
    protocol === "TLS" ? { protocol, remote: { address, port }, serverName: domain } : { protocol, remote: { address, port } };
  const out: SendTarget[] = [];
  const push = (t: SendTarget): void => {
    if (!out.some((o) => o.protocol === t.protocol && o.remote.address === t.remote.address && o.remote.port === t.remote.port)) out.push(t);
  };
  const addAll = async (protocol: TransportProtocol, name: string, port: number): Promise<void> => {
    for (const address of await lookup.addresses(name)) push(named(protocol, normalizeAddress(address), port));
  };
  const fromSrv = async (protocol: TransportProtocol, srvName: string): Promise<boolean> => {
    const records = (await lookup.srv(srvName)).filter((r) => r.name !== "" && r.name !== ".");
    for (const r of orderSrv(records, random)) await addAll(protocol, r.name, r.port);
    return records.length > 0;
  };

  if (target.port !== null) {
    await addAll(chooseTransport(target, allowed), domain, target.port);
  } else if (target.transport !== null) {
    const protocol = chooseTransport(target, allowed);
    if (!(await fromSrv(protocol, SRV_PREFIX[protocol] + domain))) await addAll(protocol, domain, defaultPort(protocol));
  } else {
    const naptr = (await lookup.naptr(domain))
      .filter((r) => r.flags.toLowerCase() === "s")
      .map((r) => ({ record: r, protocol: allowed.find((p) => NAPTR_SERVICE[p] === r.service.toUpperCase()) }))
      .filter((x): x is { record: (typeof x)["record"]; protocol: TransportProtocol } => x.protocol !== undefined)
      .sort((a, b) => a.record.order - b.record.order || a.record.preference - b.record.preference);
    let found = false;
    for (const { record, protocol } of naptr) {
      if (await fromSrv(protocol, record.replacement)) found = true;
    }
    if (!found) {
      // RFC 3263 4.1: no NAPTR, so SRV per transport we support, then A/AAAA with the default transport.
      for (const protocol of allowed) {
        if (await fromSrv(protocol, SRV_PREFIX[protocol] + domain)) found = true;
      }
    }
    if (!found) {
      const protocol = chooseTransport(target, allowed);
      await addAll(protocol, domain, defaultPort(protocol));
    }
  }
  if (out.length === 0) {
    throw new TransportError("ERR_TRANSPORT_RESOLVE", `no address found for ${domain}`, lookup.lastError !== null ? { cause: lookup.lastError } : undefined);
  }
  return out;
}
