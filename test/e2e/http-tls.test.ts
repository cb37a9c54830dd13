// The API served over TLS by a running Trunkline, with hashed tokens from the config.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfigObject } from "../../src/config/index.ts";
import { hashToken } from "../../src/http/index.ts";
import { startTrunkline } from "../../src/main.ts";
import { freePort } from "../support/ports.ts";

const dir = mkdtempSync(join(tmpdir(), "trunkline-http-tls-"));
const certFile = join(dir, "cert.pem");
const keyFile = join(dir, "key.pem");

before(() => {
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], { stdio: "ignore" });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function get(port: number, path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: "GET", ca: readFileSync(certFile), headers: token === undefined ? {} : { authorization: `Bearer ${token}` } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test("https with tokens: 401 without one, 200 with a read token, /metrics open on loopback", async () => {
  const sipPort = await freePort("127.0.0.1");
  const httpPort = await freePort("127.0.0.1");
  const parsed = parseConfigObject({
    sip: { listen: [{ protocol: "udp", address: "127.0.0.1", port: sipPort }] },
    storage: { path: ":memory:" },
    log: { level: "silent" },
    health: { enabled: false },
    http: { listen: `127.0.0.1:${httpPort}`, tls: { certFile, keyFile }, tokens: [{ name: "grafana", role: "read", sha256: hashToken("s3cret") }] },
  });
  assert.ok(parsed.ok, parsed.ok ? "" : JSON.stringify(parsed.error));
  const server = await startTrunkline(parsed.value);
  try {
    const none = await get(httpPort, "/api/v1/health");
    assert.equal(none.status, 401);
    assert.match(none.body, /AUTH_REQUIRED/);
    const ok = await get(httpPort, "/api/v1/health", "s3cret");
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { status: "ok", gateways: null, registrations: [] });
    assert.equal((await get(httpPort, "/metrics")).status, 200);
  } finally {
    await server.stop();
  }
});
