import { test } from "node:test";
import assert from "node:assert/strict";
import { orderSrv, resolveTarget, type DnsResolverLike } from "./resolver.ts";
import { TransportError } from "./types.ts";

type Naptr = Awaited<ReturnType<DnsResolverLike["resolveNaptr"]>>[number];
type Srv = Awaited<ReturnType<DnsResolverLike["resolveSrv"]>>[number];

function notFound(): Error {
  return Object.assign(new Error("not found"), { code: "ENOTFOUND" });
}

/** A DNS that answers from tables and records every question. */
function fakeDns(zone: { naptr?: Record<string, Naptr[]>; srv?: Record<string, Srv[]>; a?: Record<string, string[]>; aaaa?: Record<string, string[]> }) {
  const asked: string[] = [];
  const answer = <T>(kind: string, table: Record<string, T[]> | undefined, name: string): Promise<T[]> => {
    asked.push(`${kind} ${name}`);
    const rows = table?.[name];
    return rows === undefined ? Promise.reject(notFound()) : Promise.resolve(rows);
  };
  const resolver: DnsResolverLike = {
    resolveNaptr: (n) => answer("NAPTR", zone.naptr, n),
    resolveSrv: (n) => answer("SRV", zone.srv, n),
    resolve4: (n) => answer("A", zone.a, n),
    resolve6: (n) => answer("AAAA", zone.aaaa, n),
  };
  return { resolver, asked };
}

const naptr = (order: number, preference: number, service: string, replacement: string): Naptr => ({ flags: "s", service, regexp: "", replacement, order, preference });

test("numeric IPv4 and IPv6 hosts are used as is, with RFC 3263 default ports and transports", async () => {
  const { resolver, asked } = fakeDns({});
  assert.deepEqual(await resolveTarget("sip:alice@192.0.2.1", { resolver }), [{ protocol: "UDP", remote: { address: "192.0.2.1", port: 5060 } }]);
  assert.deepEqual(await resolveTarget("sips:[2001:db8::1]", { resolver }), [{ protocol: "TLS", remote: { address: "2001:db8::1", port: 5061 } }]);
  assert.deepEqual(await resolveTarget("sip:192.0.2.1:5080;transport=tcp", { resolver }), [{ protocol: "TCP", remote: { address: "192.0.2.1", port: 5080 } }]);
  assert.deepEqual(await resolveTarget("sips:192.0.2.1;transport=tcp", { resolver }), [{ protocol: "TLS", remote: { address: "192.0.2.1", port: 5061 } }]);
  assert.deepEqual(asked, []);
});

test("a SipUri object is accepted and maddr overrides the host", async () => {
  const { resolver } = fakeDns({});
  const hops = await resolveTarget(
    { scheme: "sip", user: "bob", password: null, host: "example.com", port: 5070, params: { maddr: "198.51.100.7", transport: "tcp" }, headers: [] },
    { resolver },
  );
  assert.deepEqual(hops, [{ protocol: "TCP", remote: { address: "198.51.100.7", port: 5070 } }]);
});

test("a name with an explicit port skips NAPTR and SRV and uses A/AAAA", async () => {
  const { resolver, asked } = fakeDns({ a: { "pbx.example.com": ["192.0.2.10"] }, aaaa: { "pbx.example.com": ["2001:db8::10"] } });
  const hops = await resolveTarget("sip:pbx.example.com:5080", { resolver });
  assert.deepEqual(hops, [
    { protocol: "UDP", remote: { address: "192.0.2.10", port: 5080 } },
    { protocol: "UDP", remote: { address: "2001:db8::10", port: 5080 } },
  ]);
  assert.deepEqual(asked.sort(), ["A pbx.example.com", "AAAA pbx.example.com"]);
});

test("NAPTR order and preference pick the transports, then SRV, then A", async () => {
  const { resolver } = fakeDns({
    naptr: {
      "example.com": [
        naptr(50, 50, "SIP+D2U", "_sip._udp.example.com"),
        naptr(10, 50, "SIP+D2T", "_sip._tcp.example.com"),
        naptr(10, 60, "SIPS+D2T", "_sips._tcp.example.com"),
        naptr(5, 5, "SIP+D2S", "_sip._sctp.example.com"),
      ],
    },
    srv: {
      "_sip._tcp.example.com": [{ name: "tcp1.example.com", port: 5060, priority: 1, weight: 0 }],
      "_sips._tcp.example.com": [{ name: "tls1.example.com", port: 5061, priority: 1, weight: 0 }],
      "_sip._udp.example.com": [{ name: "udp1.example.com", port: 5062, priority: 1, weight: 0 }],
    },
    a: { "tcp1.example.com": ["192.0.2.1"], "tls1.example.com": ["192.0.2.2"], "udp1.example.com": ["192.0.2.3"] },
  });
  const hops = await resolveTarget("sip:example.com", { resolver });
  assert.deepEqual(hops, [
    { protocol: "TCP", remote: { address: "192.0.2.1", port: 5060 } },
    { protocol: "TLS", remote: { address: "192.0.2.2", port: 5061 }, serverName: "example.com" },
    { protocol: "UDP", remote: { address: "192.0.2.3", port: 5062 } },
  ]);
});

test("a sips URI keeps only SIPS+D2T NAPTR records", async () => {
  const { resolver } = fakeDns({
    naptr: { "example.com": [naptr(10, 10, "SIP+D2U", "_sip._udp.example.com"), naptr(20, 10, "SIPS+D2T", "_sips._tcp.example.com")] },
    srv: {
      "_sip._udp.example.com": [{ name: "udp.example.com", port: 5060, priority: 1, weight: 0 }],
      "_sips._tcp.example.com": [{ name: "tls.example.com", port: 5061, priority: 1, weight: 0 }],
    },
    a: { "udp.example.com": ["192.0.2.1"], "tls.example.com": ["192.0.2.2"] },
  });
  assert.deepEqual(await resolveTarget("sips:example.com", { resolver }), [
    { protocol: "TLS", remote: { address: "192.0.2.2", port: 5061 }, serverName: "example.com" },
  ]);
});

test("without NAPTR, SRV is tried per transport; SRV priority orders the targets", async () => {
  const { resolver, asked } = fakeDns({
    srv: {
      "_sip._tcp.carrier.test": [
        { name: "b.carrier.test", port: 5060, priority: 20, weight: 0 },
        { name: "a.carrier.test", port: 5060, priority: 10, weight: 0 },
      ],
    },
    a: { "a.carrier.test": ["192.0.2.1"], "b.carrier.test": ["192.0.2.2"] },
  });
  const hops = await resolveTarget("sip:carrier.test", { resolver, transports: ["UDP", "TCP"] });
  assert.deepEqual(hops, [
    { protocol: "TCP", remote: { address: "192.0.2.1", port: 5060 } },
    { protocol: "TCP", remote: { address: "192.0.2.2", port: 5060 } },
  ]);
  assert.ok(asked.includes("NAPTR carrier.test"));
  assert.ok(asked.includes("SRV _sip._udp.carrier.test"));
  assert.ok(!asked.includes("SRV _sips._tcp.carrier.test"), "TLS was not allowed");
});

test("no NAPTR and no SRV falls back to A/AAAA with UDP (sip) or TLS (sips) on the default port", async () => {
  const { resolver } = fakeDns({ a: { "host.test": ["192.0.2.9"] } });
  assert.deepEqual(await resolveTarget("sip:host.test", { resolver }), [{ protocol: "UDP", remote: { address: "192.0.2.9", port: 5060 } }]);
  assert.deepEqual(await resolveTarget("sips:host.test", { resolver }), [
    { protocol: "TLS", remote: { address: "192.0.2.9", port: 5061 }, serverName: "host.test" },
  ]);
});

test("transport= with a name and no port queries the SRV of that transport only", async () => {
  const { resolver, asked } = fakeDns({
    srv: { "_sip._tcp.host.test": [{ name: "edge.host.test", port: 5090, priority: 0, weight: 0 }] },
    a: { "edge.host.test": ["192.0.2.5"] },
  });
  assert.deepEqual(await resolveTarget("sip:host.test;transport=TCP", { resolver }), [{ protocol: "TCP", remote: { address: "192.0.2.5", port: 5090 } }]);
  assert.deepEqual(asked.filter((q) => q.startsWith("NAPTR")), []);
});

test("nothing found rejects with ERR_TRANSPORT_RESOLVE and keeps a server failure as cause", async () => {
  const servfail = Object.assign(new Error("servfail"), { code: "ESERVFAIL" });
  const resolver: DnsResolverLike = {
    resolveNaptr: () => Promise.reject(servfail),
    resolveSrv: () => Promise.reject(notFound()),
    resolve4: () => Promise.reject(notFound()),
    resolve6: () => Promise.reject(notFound()),
  };
  await assert.rejects(resolveTarget("sip:nowhere.test", { resolver }), (e: unknown) => {
    assert.ok(e instanceof TransportError);
    assert.equal(e.code, "ERR_TRANSPORT_RESOLVE");
    assert.equal(e.cause, servfail);
    return true;
  });
  await assert.rejects(resolveTarget("mailto:x@y", { resolver }), { code: "ERR_TRANSPORT_RESOLVE" });
  await assert.rejects(resolveTarget("sips:192.0.2.1;transport=udp", { resolver }), { code: "ERR_TRANSPORT_RESOLVE" });
});

test("orderSrv: weights draw within a priority (RFC 2782), priorities ascend", () => {
  const records = [
    { id: "low", priority: 10, weight: 1 },
    { id: "heavy", priority: 10, weight: 99 },
    { id: "zero", priority: 10, weight: 0 },
    { id: "backup", priority: 20, weight: 5 },
  ];
  // draw 0.5 * 101 = 50.5: running sums zero=0, low=1, heavy=100 -> heavy first.
  const draws = [0.5, 0, 0];
  const order = orderSrv(records, () => draws.shift() ?? 0).map((r) => r.id);
  assert.equal(order[0], "heavy");
  assert.equal(order[3], "backup");
  assert.deepEqual(new Set(order), new Set(["low", "heavy", "zero", "backup"]));
});
