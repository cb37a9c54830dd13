import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { compilePolicy, DEFAULT_FAILOVER_CODES } from "../domain/index.ts";
import { formatConfigIssue, loadConfigFile, parseConfigText, type Config } from "./index.ts";

const example = fileURLToPath(new URL("../../examples/loopback/trunkline.yaml", import.meta.url));

function parse(yaml: string): Config {
  const r = parseConfigText(yaml, "t.yaml");
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatConfigIssue).join("\n"));
  return r.value;
}

function lines(yaml: string): string[] {
  const r = parseConfigText(yaml, "t.yaml");
  assert.equal(r.ok, false, "expected the config to be rejected");
  return r.ok ? [] : r.error.map(formatConfigIssue);
}

const base = `provisioning:
  customers:
    - { name: acme, mode: static, uri: "sip:127.0.1.1:5060", auth: { username: acme, password: s }, dids: ["+15550100000-+15550100099"] }
  carriers:
    - { name: alpha, gateways: [{ uri: "sip:127.0.2.1:5060" }], sourceAddresses: ["127.0.2.0/24"] }
`;

describe("provisioning section", () => {
  it("is undefined when absent and empty lists when empty", () => {
    assert.equal(parse("").provisioning, undefined);
    assert.deepEqual(parse("provisioning: {}\n").provisioning, { customers: [], carriers: [], routes: [], rateDecks: [] });
  });

  it("fills defaults: ids from names, e164-plus country 1, domain failover codes, no limits, all destinations", () => {
    const p = parse(base).provisioning;
    assert.ok(p !== undefined);
    assert.deepEqual(p.customers[0], {
      id: "acme",
      name: "acme",
      identification: { cidrs: [], credentials: [{ username: "acme", password: "s" }] },
      mode: { kind: "static", uri: "sip:127.0.1.1:5060" },
      dids: [{ kind: "range", from: "+15550100000", to: "+15550100099" }],
      limits: {},
      outbound: { allowedPrefixes: ["+"], callerId: "any" },
      failover: { uris: [], policy: { codes: [...DEFAULT_FAILOVER_CODES], onTransportError: true, onTimeout: true, timeoutMs: 5000 } },
      numbering: { format: "e164-plus", countryCode: "1" },
    });
    assert.deepEqual(p.carriers[0]?.gateways, [{ id: "alpha-gw1", uri: "sip:127.0.2.1:5060", transport: "udp", priority: 1, weight: 1 }]);
    assert.deepEqual(p.carriers[0]?.numbering, { format: "e164-plus", countryCode: "1" });
  });

  it("reads friendly forms: gateway strings, transports from the URI, route carriers by name or with priority, rates", () => {
    const p = parse(`provisioning:
  carriers:
    - name: alpha
      gateways: ["sip:127.0.2.1:5060;transport=tcp", "sips:127.0.2.2", { uri: "sip:127.0.2.3", transport: udp, weight: 3, id: a3 }]
      rates: [{ prefix: "+44", perMinute: 0.01 }, { prefix: "+", perMinute: 0.5 }]
      currency: EUR
      numbering: { format: national, countryCode: 44 }
    - { name: beta, id: b, gateways: ["sip:127.0.3.1"] }
  routes:
    - { prefix: "+1", carriers: [alpha, b] }
    - { prefix: "+44", ordering: cost, carriers: [{ carrier: b, priority: 5, weight: 2 }, alpha] }
    - { prefix: "+", carriers: [alpha] }
`).provisioning;
    assert.ok(p !== undefined);
    assert.deepEqual(p.carriers[0]?.gateways.map((g) => [g.id, g.transport, g.weight]), [["alpha-gw1", "tcp", 1], ["alpha-gw2", "tls", 1], ["a3", "udp", 3]]);
    assert.deepEqual(p.carriers[0]?.numbering, { format: "national", countryCode: "44" });
    assert.deepEqual(p.routes, [
      { id: "+1", prefix: "1", ordering: "priority", carriers: [{ carrierId: "alpha", priority: 1, weight: 1 }, { carrierId: "b", priority: 2, weight: 1 }] },
      { id: "+44", prefix: "44", ordering: "cost", carriers: [{ carrierId: "b", priority: 5, weight: 2 }, { carrierId: "alpha", priority: 2, weight: 1 }] },
      { id: "default", prefix: "", ordering: "priority", carriers: [{ carrierId: "alpha", priority: 1, weight: 1 }] },
    ]);
    assert.deepEqual(p.rateDecks, [{ carrierId: "alpha", currency: "EUR", entries: [{ prefix: "44", pricePerMinute: 0.01 }, { prefix: "", pricePerMinute: 0.5 }] }]);
  });

  const errors: ReadonlyArray<readonly [string, string, string]> = [
    ["bad DID", base.replace('["+15550100000-+15550100099"]', '["+15550100000", "15550100099"]'), "t.yaml: provisioning.customers[0].dids[1]: expected +E.164 number or range +A-+B"],
    ["unquoted DID", base.replace('["+15550100000-+15550100099"]', "[+15550100000]"), "t.yaml: provisioning.customers[0].dids[0]: expected +E.164 number or range +A-+B (quote it"],
    ["reversed range", base.replace("+15550100000-+15550100099", "+15550100099-+15550100000"), "t.yaml: provisioning.customers[0].dids[0]: expected +E.164 number or range +A-+B (+15550100099-+15550100000: range starts after it ends)"],
    ["static without uri", base.replace(' uri: "sip:127.0.1.1:5060",', ""), "t.yaml: provisioning.customers[0].uri: a static customer needs the URI of its PBX"],
    ["unknown mode", base.replace("mode: static", "mode: dynamic"), 't.yaml: provisioning.customers[0].mode: expected one of "static", "registration"'],
    ["no password", base.replace("password: s", "pass: s"), "t.yaml: provisioning.customers[0].auth.pass: unknown key"],
    ["bad CIDR", base.replace("127.0.2.0/24", "127.0.2.0/33"), "t.yaml: provisioning.carriers[0].sourceAddresses[0]: expected an IP address or CIDR block"],
    ["bad gateway URI", base.replace('uri: "sip:127.0.2.1:5060"', "uri: 127.0.2.1"), "t.yaml: provisioning.carriers[0].gateways[0].uri: expected a SIP URI"],
    ["no gateways", base.replace('[{ uri: "sip:127.0.2.1:5060" }]', "[]"), "t.yaml: provisioning.carriers[0].gateways: expected at least one gateway"],
    ["unknown route carrier", `${base}  routes: [{ prefix: "+1", carriers: [alpha, nope] }]\n`, "t.yaml: provisioning.routes[0].carriers[1]: unknown carrier nope"],
    ["unquoted route prefix", `${base}  routes: [{ prefix: +1, carriers: [alpha] }]\n`, "t.yaml: provisioning.routes[0].prefix: expected a prefix"],
    ["duplicate customer", base.replace(/(    - \{ name: acme.*\n)/, "$1$1").replace("username: acme, password: s }, dids", "username: acme, password: s }, dids"), "t.yaml: provisioning.customers[1].name: duplicate id acme"],
    ["typo in a customer", base.replace("mode: static", "mode: static, chanels: 3"), "t.yaml: provisioning.customers[0].chanels: unknown key"],
    ["zero channels", base.replace("mode: static", "mode: static, channels: 0"), "t.yaml: provisioning.customers[0].channels: expected a whole number greater than 0"],
  ];
  for (const [name, yaml, expected] of errors) {
    it(`names the path: ${name}`, () => {
      const got = lines(yaml);
      assert.ok(got.some((l) => l.startsWith(expected)), `expected a line starting with\n  ${expected}\ngot\n  ${got.join("\n  ")}`);
    });
  }

  it("reports overlapping DIDs and rate deck errors from compilePolicy under provisioning.", () => {
    const bob = '    - { name: bob, mode: static, uri: "sip:b", sourceAddresses: ["10.0.0.1"], dids: ["+15550100050"] }\n';
    const got = lines(base.replace("  carriers:\n", `${bob}  carriers:\n`).replace('sourceAddresses: ["127.0.2.0/24"]', 'sourceAddresses: ["127.0.2.0/24"], rates: [{ prefix: "+1", perMinute: 1 }, { prefix: "1", perMinute: 2 }]'));
    assert.ok(got.some((l) => l.startsWith("t.yaml: provisioning: dids: ")), got.join("\n"));
    assert.ok(got.some((l) => l.startsWith("t.yaml: provisioning.carriers[0].rates: rate deck alpha: prefix 1 appears twice")), got.join("\n"));
  });
});

describe("examples/loopback/trunkline.yaml", () => {
  it("loads and compiles into the documented topology", async () => {
    const r = await loadConfigFile(example);
    assert.ok(r.ok, r.ok ? "" : r.error.map(formatConfigIssue).join("\n"));
    const c = r.value;
    assert.deepEqual(c.sip.listen, [
      { protocol: "udp", address: "127.0.0.1", port: 5060 },
      { protocol: "tcp", address: "127.0.0.1", port: 5060 },
    ]);
    const p = c.provisioning;
    assert.ok(p !== undefined);
    const policy = compilePolicy(p);
    assert.ok(policy.ok);
    const { customers, carriers } = policy.value;
    assert.deepEqual([...customers.keys()], ["acme", "globex", "loadtest"]);
    assert.deepEqual(customers.get("acme")?.limits, { channels: 10, cps: 20 });
    assert.deepEqual(customers.get("acme")?.mode, { kind: "static", uri: "sip:127.0.1.1:5060" });
    assert.deepEqual(customers.get("globex")?.mode, { kind: "registration" });
    assert.deepEqual(customers.get("globex")?.limits, { channels: 2 });
    assert.deepEqual(customers.get("loadtest")?.identification, { cidrs: ["127.0.4.0/24"], credentials: [] });
    assert.deepEqual(customers.get("loadtest")?.limits, { channels: 50000 });
    assert.deepEqual(carriers.get("alpha")?.gateways.map((g) => [g.uri, g.priority]), [["sip:127.0.2.1:5060", 1], ["sip:127.0.2.2:5060", 2]]);
    assert.deepEqual(carriers.get("beta")?.sourceCidrs, ["127.0.3.0/24"]);

    // Identification, DIDs and routes behave as the comments in the file say.
    const id = policy.value.identifier;
    assert.equal(id.identify({ sourceAddress: "127.0.4.77" }).kind, "customer");
    assert.equal(id.identify({ sourceAddress: "127.0.2.2" }).kind, "carrier");
    assert.equal(id.identify({ sourceAddress: "127.0.1.1" }).kind, "challenge");
    const acme = id.identify({ sourceAddress: "127.0.1.1", digestUsername: "acme" });
    assert.ok(acme.kind === "customer" && acme.verify?.password === "acme-secret");
    assert.equal(policy.value.dids.lookup("+15550399999")?.customer.id, "loadtest");
    assert.equal(policy.value.dids.lookup("+15550200009")?.customer.id, "globex");
    assert.equal(policy.value.dids.lookup("+15550200010"), undefined);
    assert.deepEqual(policy.value.routes.match("+12125550100")?.carriers.map((rc) => rc.carrierId), ["alpha", "beta"]);
    assert.deepEqual(policy.value.routes.match("+442071234567")?.carriers.map((rc) => rc.carrierId), ["beta"]);
    assert.equal(policy.value.routes.match("+33142685300"), undefined);
  });
});
