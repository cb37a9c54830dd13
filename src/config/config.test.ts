import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { formatConfigIssue, loadConfig, loadConfigFile, parseConfigObject, parseConfigText, type ConfigIssue } from "./index.ts";
import { DEFAULT_SIP_TLS_CIPHERS } from "./schema.ts";

function issues(text: string): ConfigIssue[] {
  const r = parseConfigText(text, "test.yaml");
  assert.equal(r.ok, false, "expected the config to be rejected");
  return r.ok ? [] : r.error;
}

function lines(text: string): string[] {
  return issues(text).map(formatConfigIssue);
}

describe("config defaults", () => {
  for (const [name, text] of [
    ["an empty file", ""],
    ["a comment-only file", "# nothing yet\n"],
    ["empty sections", "sip: {}\nstorage: {}\nlog: {}\nhttp: {}\n"],
  ] as const) {
    it(`accepts ${name} and fills every default`, () => {
      const r = parseConfigText(text, "test.yaml");
      assert.ok(r.ok);
      assert.deepEqual(r.value, {
        sip: {
          listen: [
            { protocol: "udp", address: "127.0.0.1", port: 5060 },
            { protocol: "tcp", address: "127.0.0.1", port: 5060 },
          ],
          timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 },
          maxMessageSize: 65536,
          maxConnections: 10000,
          idleTimeoutMs: 600000,
          messageTimeoutMs: 20000,
          userAgent: "Trunkline",
          udpIo: "auto",
        },
        storage: { driver: "sqlite", path: "./data/trunkline.db" },
        trace: { sipLadder: { enabled: true, retentionHours: 24, maxMessagesPerCall: 200 } },
        log: { level: "info" },
        http: { listen: "127.0.0.1:8080", enabled: true, tokens: [] },
        calls: {
          realm: "trunkline",
          digestAlgorithms: ["MD5", "SHA-256"],
          maxDurationSeconds: 14400,
          sessionTimerSeconds: 1800,
          minSessionExpiresSeconds: 90,
          refer: "reject",
          inviteTimeoutMs: 5000,
          registrationForking: "parallel",
        },
        registrar: { minExpiresSeconds: 60, maxExpiresSeconds: 3600, defaultExpiresSeconds: 3600, maxBindingsPerAor: 10 },
        health: { enabled: true, intervalMs: 30000, timeoutMs: 5000, downAfter: 3, upAfter: 2 },
        media: {
          enabled: true,
          address: "127.0.0.1",
          portMin: 20000,
          portMax: 30000,
          timeoutSeconds: 60,
          workers: "auto",
          oneWayAudioSeconds: 5,
          io: "auto",
          backend: "relay",
          rtpengine: { address: "127.0.0.1", port: 2223, timeoutMs: 1000, statsIntervalMs: 2000 },
        },
        security: {
          trustedNetworks: [],
          rate: { register: { perSecond: 5, burst: 20 }, invite: { perSecond: 10, burst: 30 }, other: { perSecond: 30, burst: 100 } },
          banSeconds: 600,
          maxBanSeconds: 86400,
          maxConnectionsPerSource: 20,
          scanners: {},
          limits: { maxHeaders: 100, maxHeaderLength: 4096, maxVias: 70, maxBody: 32768 },
          auth: { maxFailures: 5, windowSeconds: 60, perAccount: { maxFailures: 10, windowSeconds: 300 }, accountLock: { enabled: false, baseSeconds: 300, maxSeconds: 3600 } },
          fraud: { webhookTimeoutMs: 2000 },
        },
      });
    });
  }

  it("keeps a partial section's other defaults", () => {
    const r = parseConfigText("sip:\n  timers:\n    t1Ms: 100\n", "test.yaml");
    assert.ok(r.ok);
    assert.deepEqual(r.value.sip.timers, { t1Ms: 100, t2Ms: 4000, t4Ms: 5000 });
  });

  it("accepts a full config with TLS and IPv6 and converts provisioning", () => {
    const r = parseConfigText(
      [
        "sip:",
        "  listen:",
        "    - { protocol: udp, address: '::1', port: 0 }",
        "    - { protocol: tls, address: 0.0.0.0, port: 5061 }",
        "  tls: { certFile: /etc/c.pem, keyFile: /etc/k.pem, requireClientCert: true }",
        "http: { listen: '[::1]:9000', enabled: false }",
        "provisioning:",
        "  customers: [{ name: acme, mode: static, uri: 'sip:192.0.2.1', sourceAddresses: [192.0.2.1] }]",
      ].join("\n"),
      "test.yaml",
    );
    assert.ok(r.ok, r.ok ? "" : r.error.map(formatConfigIssue).join("\n"));
    assert.equal(r.value.sip.listen[0]?.address, "::1");
    assert.deepEqual(r.value.sip.tls, {
      certFile: "/etc/c.pem",
      keyFile: "/etc/k.pem",
      requireClientCert: true,
      // Hardened defaults: TLS 1.2+, ECDHE/AEAD ciphers, reload checks, peers verified.
      requestClientCert: true,
      verifyServer: true,
      minVersion: "TLSv1.2",
      ciphers: DEFAULT_SIP_TLS_CIPHERS,
      reloadCheckMs: 5000,
    });
    assert.deepEqual(r.value.provisioning?.customers.map((c) => c.id), ["acme"]);
  });
});

describe("config errors name their path", () => {
  const table: ReadonlyArray<readonly [string, string, string]> = [
    [
      "port out of range",
      "sip:\n  listen:\n    - { protocol: udp, address: 127.0.0.1, port: 5060 }\n    - { protocol: tcp, address: 127.0.0.1, port: 70000 }\n",
      "test.yaml: sip.listen[1].port: expected a number from 0 to 65535",
    ],
    ["port as a string", "sip:\n  listen: [{ protocol: udp, address: 127.0.0.1, port: '5060' }]\n", "test.yaml: sip.listen[0].port: expected a number from 0 to 65535"],
    ["fractional port", "sip:\n  listen: [{ protocol: udp, address: 127.0.0.1, port: 50.5 }]\n", "test.yaml: sip.listen[0].port: expected a number from 0 to 65535"],
    ["unknown protocol", "sip:\n  listen: [{ protocol: sctp, address: 127.0.0.1, port: 1 }]\n", 'test.yaml: sip.listen[0].protocol: expected one of "udp", "tcp", "tls"'],
    ["host name as listen address", "sip:\n  listen: [{ protocol: udp, address: example.com, port: 1 }]\n", "test.yaml: sip.listen[0].address: expected an IPv4 or IPv6 address"],
    ["empty listen list", "sip:\n  listen: []\n", "test.yaml: sip.listen: expected at least one listener"],
    ["missing listener field", "sip:\n  listen: [{ protocol: udp, port: 1 }]\n", "test.yaml: sip.listen[0].address: expected an IP address"],
    ["tls listener without tls files", "sip:\n  listen: [{ protocol: tls, address: 127.0.0.1, port: 5061 }]\n", "test.yaml: sip.listen[0].protocol: a tls listener needs sip.tls"],
    [
      "duplicate listener",
      "sip:\n  listen: [{ protocol: udp, address: 127.0.0.1, port: 1 }, { protocol: udp, address: 127.0.0.1, port: 1 }]\n",
      "test.yaml: sip.listen[1]: duplicate listener udp 127.0.0.1:1",
    ],
    ["tls without keyFile", "sip:\n  tls: { certFile: c.pem }\n", "test.yaml: sip.tls.keyFile: expected a path to a PEM private key file"],
    ["negative timer", "sip:\n  timers: { t1Ms: -1 }\n", "test.yaml: sip.timers.t1Ms: expected a whole number greater than 0"],
    ["T2 below T1", "sip:\n  timers: { t1Ms: 5000, t2Ms: 4000 }\n", "test.yaml: sip.timers.t2Ms: t2Ms must not be smaller than t1Ms"],
    ["tiny maxMessageSize", "sip:\n  maxMessageSize: 10\n", "test.yaml: sip.maxMessageSize: expected a whole number from 1024 to 1048576"],
    ["zero maxConnections", "sip:\n  maxConnections: 0\n", "test.yaml: sip.maxConnections: expected a whole number greater than 0"],
    ["unknown storage driver", "storage: { driver: mysql }\n", 'test.yaml: storage.driver: expected one of "sqlite"'],
    ["empty storage path", "storage: { path: '' }\n", "test.yaml: storage.path: expected a file path"],
    ["unknown media I/O", "media: { io: fast }\n", 'test.yaml: media.io: expected one of "auto", "native", "dgram"'],
    ["real-time priority above 99", "media: { realtimePriority: 100 }\n", "test.yaml: media.realtimePriority: expected a whole number from 1 to 99"],
    ["unknown REFER policy", "calls: { refer: maybe }\n", 'test.yaml: calls.refer: expected one of "reject", "pass"'],
    ["unknown digest algorithm", "calls: { digestAlgorithms: [MD5, SHA-1] }\n", 'test.yaml: calls.digestAlgorithms[1]: expected one of "MD5", "SHA-256"'],
    ["session timer below RFC 4028 floor", "calls: { sessionTimerSeconds: 30 }\n", "test.yaml: calls.sessionTimerSeconds: expected a whole number from 90 to 86400"],
    ["registrar min above max", "registrar: { minExpiresSeconds: 7200 }\n", "test.yaml: registrar.minExpiresSeconds: must not be larger than maxExpiresSeconds"],
    ["unknown log level", "log: { level: loud }\n", 'test.yaml: log.level: expected one of "fatal", "error"'],
    ["bad http listen", "http: { listen: 'localhost:80' }\n", "test.yaml: http.listen: expected an IP address and port"],
    ["http enabled as a string", "http: { enabled: 'yes' }\n", "test.yaml: http.enabled: expected true or false"],
    ["section that is not a mapping", "sip: 5\n", "test.yaml: sip: expected a mapping"],
    ["top level that is a list", "- a\n- b\n", "test.yaml: expected a mapping of sections"],
    ["typo in a top-level key", "sipp: {}\n", "test.yaml: sipp: unknown key"],
    ["typo in a nested key", "sip:\n  timers: { t1: 100 }\n", "test.yaml: sip.timers.t1: unknown key"],
    ["typo inside a list item", "sip:\n  listen: [{ protocol: udp, address: 127.0.0.1, port: 1, prot: 2 }]\n", "test.yaml: sip.listen[0].prot: unknown key"],
  ];
  for (const [name, text, expected] of table) {
    it(name, () => {
      const got = lines(text);
      assert.ok(
        got.some((l) => l.startsWith(expected)),
        `expected a line starting with\n  ${expected}\ngot\n  ${got.join("\n  ")}`,
      );
    });
  }

  it("reports every error, not only the first", () => {
    const got = issues("sip:\n  maxConnections: 0\n  bogus: 1\nlog: { level: loud }\nextra: true\n").map((i) => i.path);
    assert.deepEqual(got.sort(), ["extra", "log.level", "sip.bogus", "sip.maxConnections"]);
  });

  it("reports YAML syntax errors with line and column", () => {
    const got = issues("sip:\n  listen: [\n");
    assert.equal(got[0]?.code, "CONFIG_YAML_SYNTAX");
    assert.equal(got[0]?.line, 3);
    assert.equal(got[0]?.col, 1);
    assert.match(formatConfigIssue(got[0] as ConfigIssue), /^test\.yaml:3:1: YAML syntax: /);
  });

  it("reports duplicate keys as YAML errors rather than keeping the last one", () => {
    const got = issues("log: { level: info }\nlog: { level: debug }\n");
    assert.equal(got[0]?.code, "CONFIG_YAML_SYNTAX");
    assert.equal(got[0]?.line, 2);
  });
});

describe("loading files and environment", () => {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-config-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("resolves relative paths against the config file's folder", async () => {
    const file = join(dir, "a.yaml");
    writeFileSync(file, "storage: { path: db/t.db }\nsip:\n  tls: { certFile: c.pem, keyFile: /abs/k.pem }\n");
    const r = await loadConfigFile(file);
    assert.ok(r.ok);
    assert.equal(r.value.storage.path, join(dir, "db/t.db"));
    assert.equal(r.value.sip.tls?.certFile, join(dir, "c.pem"));
    assert.equal(r.value.sip.tls?.keyFile, "/abs/k.pem");
  });

  it("keeps :memory: as is", async () => {
    const file = join(dir, "m.yaml");
    writeFileSync(file, "storage: { path: ':memory:' }\n");
    const r = await loadConfigFile(file);
    assert.ok(r.ok);
    assert.equal(r.value.storage.path, ":memory:");
  });

  it("reports a missing file with a stable code", async () => {
    const r = await loadConfigFile(join(dir, "missing.yaml"));
    assert.ok(!r.ok);
    assert.equal(r.error[0]?.code, "CONFIG_READ_FAILED");
    assert.match(r.error[0]?.message ?? "", /ENOENT/);
  });

  it("takes the file from TRUNKLINE_CONFIG when no path is given", async () => {
    const file = join(dir, "env.yaml");
    writeFileSync(file, "log: { level: debug }\n");
    const r = await loadConfig({ env: { TRUNKLINE_CONFIG: file } });
    assert.ok(r.ok);
    assert.equal(r.value.log.level, "debug");
  });

  it("uses all defaults with neither path nor TRUNKLINE_CONFIG", async () => {
    const r = await loadConfig({ env: {} });
    assert.ok(r.ok);
    assert.equal(r.value.storage.path, "./data/trunkline.db");
  });

  it("lets TRUNKLINE_LOG_LEVEL override log.level and names it when invalid", () => {
    const good = parseConfigObject({ log: { level: "warn" } }, "x", { TRUNKLINE_LOG_LEVEL: "trace" });
    assert.ok(good.ok);
    assert.equal(good.value.log.level, "trace");
    const bad = parseConfigObject({}, "x", { TRUNKLINE_LOG_LEVEL: "chatty" });
    assert.ok(!bad.ok);
    assert.equal(bad.error[0]?.source, "TRUNKLINE_LOG_LEVEL");
    assert.equal(bad.error[0]?.path, "log.level");
  });
});
