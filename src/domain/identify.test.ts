import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type IdentifyDecision, type IdentifyRequest, createIdentifier } from "./identify.ts";
import { carrier, customer } from "./test-fixtures.ts";

const customers = [
  customer({ id: "ip-only", identification: { cidrs: ["198.51.100.0/24"], credentials: [] } }),
  customer({ id: "digest-only", identification: { cidrs: [], credentials: [{ username: "pbx-digest", password: "s3cret" }] } }),
  customer({
    id: "both-required",
    identification: { cidrs: ["198.51.100.77"], credentials: [{ username: "strict", password: "x" }], requireBoth: true },
  }),
  customer({ id: "either", identification: { cidrs: ["2001:db8:5::/48"], credentials: [{ username: "roamer", password: "y" }] } }),
  // Two PBXs behind one NAT address.
  customer({ id: "nat-a", identification: { cidrs: ["203.0.113.9"], credentials: [{ username: "nat-a", password: "a" }] } }),
  customer({ id: "nat-b", identification: { cidrs: ["203.0.113.9"], credentials: [{ username: "nat-b", password: "b" }] } }),
];
const carriers = [carrier({ id: "carrier-x", sourceCidrs: ["192.0.2.0/28", "2001:db8:c::/48"] })];

/** What a decision says in one comparable string. */
function summary(d: IdentifyDecision): string {
  switch (d.kind) {
    case "carrier":
      return `carrier ${d.carrier.id}`;
    case "customer":
      return `customer ${d.customer.id} by ${d.matchedBy}${d.verify !== undefined ? ` verify ${d.verify.username}` : ""}`;
    case "challenge":
      return "challenge";
    case "refuse":
      return `refuse ${d.refusal.status} ${d.refusal.kind}`;
  }
}

describe("identify", () => {
  const built = createIdentifier(customers, carriers);
  assert.ok(built.ok);
  const cases: [request: IdentifyRequest, expected: string][] = [
    [{ sourceAddress: "192.0.2.5" }, "carrier carrier-x"],
    [{ sourceAddress: "::ffff:192.0.2.5" }, "carrier carrier-x"],
    [{ sourceAddress: "2001:db8:c::10" }, "carrier carrier-x"],
    [{ sourceAddress: "198.51.100.20" }, "customer ip-only by source-ip"],
    [{ sourceAddress: "198.51.100.20", digestUsername: "pbx-digest" }, "customer ip-only by source-ip"],
    [{ sourceAddress: "203.0.113.50", digestUsername: "pbx-digest" }, "customer digest-only by credentials verify pbx-digest"],
    [{ sourceAddress: "203.0.113.50" }, "challenge"],
    [{ sourceAddress: "203.0.113.50", digestUsername: "mallory" }, "refuse 403 bad-credentials"],
    // The /32 of both-required is more specific than ip-only's /24.
    [{ sourceAddress: "198.51.100.77" }, "challenge"],
    [{ sourceAddress: "198.51.100.77", digestUsername: "strict" }, "customer both-required by source-ip+credentials verify strict"],
    [{ sourceAddress: "198.51.100.77", digestUsername: "roamer" }, "refuse 403 bad-credentials"],
    [{ sourceAddress: "203.0.113.77", digestUsername: "strict" }, "refuse 403 unknown-source"],
    [{ sourceAddress: "2001:db8:5::1" }, "customer either by source-ip"],
    [{ sourceAddress: "203.0.113.60", digestUsername: "roamer" }, "customer either by credentials verify roamer"],
    [{ sourceAddress: "203.0.113.9" }, "challenge"],
    [{ sourceAddress: "203.0.113.9", digestUsername: "nat-b" }, "customer nat-b by source-ip+credentials verify nat-b"],
    [{ sourceAddress: "203.0.113.9", digestUsername: "nobody" }, "refuse 403 bad-credentials"],
  ];
  for (const [request, expected] of cases) {
    it(`${request.sourceAddress}${request.digestUsername !== undefined ? ` user ${request.digestUsername}` : ""} -> ${expected}`, () => {
      assert.equal(summary(built.value.identify(request)), expected);
    });
  }

  it("refuses unknown sources with 403 when no customer uses digest", () => {
    const ipOnly = createIdentifier([customer({ id: "a", identification: { cidrs: ["10.0.0.0/8"], credentials: [] } })], carriers);
    assert.ok(ipOnly.ok);
    const d = ipOnly.value.identify({ sourceAddress: "203.0.113.1" });
    assert.equal(summary(d), "refuse 403 unknown-source");
    if (d.kind === "refuse") assert.match(d.refusal.reason, /203\.0\.113\.1/);
  });

  it("reports provisioning problems", () => {
    const r = createIdentifier(
      [
        customer({ id: "a", identification: { cidrs: ["not-a-cidr"], credentials: [{ username: "u", password: "p" }] } }),
        customer({ id: "b", identification: { cidrs: [], credentials: [{ username: "u", password: "p" }] } }),
        customer({ id: "c" }),
      ],
      [],
    );
    assert.ok(!r.ok);
    assert.equal(r.error.length, 3);
  });
});

describe("identify: mutual TLS for customers that require it", () => {
  const mtls = [
    customer({ id: "mtls", identification: { cidrs: ["198.51.100.10"], credentials: [], tls: { requireClientCert: true } } }),
    customer({
      id: "mtls-named",
      identification: { cidrs: ["198.51.100.11"], credentials: [{ username: "named", password: "n" }], tls: { requireClientCert: true, subject: "pbx.example.com" } },
    }),
    customer({ id: "plain", identification: { cidrs: ["198.51.100.12"], credentials: [], tls: { requireClientCert: false } } }),
  ];
  const built = createIdentifier(mtls, carriers);
  assert.ok(built.ok);
  const good = { verified: true, subject: "other.example.com", altNames: ["DNS:pbx.example.com", "IP Address:198.51.100.11"] };
  const cases: [name: string, request: IdentifyRequest, expected: string][] = [
    ["over UDP/TCP (no certificate field)", { sourceAddress: "198.51.100.10" }, "refuse 403 unknown-source"],
    ["over TLS without a certificate", { sourceAddress: "198.51.100.10", clientCertificate: { verified: false, subject: null, altNames: [], error: "NO_CERTIFICATE" } }, "refuse 403 unknown-source"],
    ["with an untrusted certificate", { sourceAddress: "198.51.100.10", clientCertificate: { ...good, verified: false, error: "SELF_SIGNED_CERT_IN_CHAIN" } }, "refuse 403 unknown-source"],
    ["with a verified certificate", { sourceAddress: "198.51.100.10", clientCertificate: good }, "customer mtls by source-ip"],
    ["a verified certificate naming the subject in a SAN", { sourceAddress: "198.51.100.11", digestUsername: "named", clientCertificate: good }, "customer mtls-named by source-ip+credentials verify named"],
    ["a verified certificate naming the subject as CN", { sourceAddress: "198.51.100.11", digestUsername: "named", clientCertificate: { verified: true, subject: "PBX.example.com", altNames: [] } }, "customer mtls-named by source-ip+credentials verify named"],
    ["a verified certificate for another name", { sourceAddress: "198.51.100.11", digestUsername: "named", clientCertificate: { verified: true, subject: "evil.example.com", altNames: ["DNS:evil.example.com"] } }, "refuse 403 unknown-source"],
    ["credentials alone, from elsewhere", { sourceAddress: "203.0.113.200", digestUsername: "named" }, "refuse 403 unknown-source"],
    ["a trunk with requireClientCert false", { sourceAddress: "198.51.100.12" }, "customer plain by source-ip"],
    ["carriers are not affected", { sourceAddress: "192.0.2.5" }, "carrier carrier-x"],
  ];
  for (const [name, request, expected] of cases) {
    it(name, () => assert.equal(summary(built.value.identify(request)), expected));
  }
  it("the refusal says why", () => {
    const d = built.value.identify({ sourceAddress: "198.51.100.10", clientCertificate: { ...good, verified: false, error: "SELF_SIGNED_CERT_IN_CHAIN" } });
    assert.equal(d.kind, "refuse");
    assert.match(d.kind === "refuse" ? d.refusal.reason : "", /mutual TLS.*not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)/);
  });
});
