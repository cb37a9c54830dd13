import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger, flushLogger, securityEvent, type DestinationStream } from "./index.ts";

function capture(): { stream: DestinationStream; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  return {
    stream: { write: (s: string) => void chunks.push(s) },
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("createLogger", () => {
  it("writes one JSON event per line with the level name", () => {
    const out = capture();
    const logger = createLogger({ level: "info", destination: out.stream });
    logger.info({ port: 5060 }, "listening");
    logger.warn("second");
    const lines = out.lines();
    assert.equal(lines.length, 2);
    assert.equal(lines[0]?.["level"], "info");
    assert.equal(lines[0]?.["msg"], "listening");
    assert.equal(lines[0]?.["port"], 5060);
    assert.equal(lines[0]?.["service"], "trunkline");
    assert.equal(typeof lines[0]?.["time"], "string");
  });

  it("drops events below the configured level", () => {
    const out = capture();
    const logger = createLogger({ level: "warn", destination: out.stream });
    logger.info("hidden");
    logger.debug("hidden");
    logger.error("shown");
    assert.deepEqual(
      out.lines().map((l) => l["msg"]),
      ["shown"],
    );
  });

  it("child loggers carry their bindings on every line", () => {
    const out = capture();
    const root = createLogger({ level: "debug", destination: out.stream });
    const call = root.child({ layer: "call" }).child({ callId: "abc@host", trunk: "acme" });
    call.debug("routing");
    const [line] = out.lines();
    assert.equal(line?.["layer"], "call");
    assert.equal(line?.["callId"], "abc@host");
    assert.equal(line?.["trunk"], "acme");
  });

  it("flushLogger resolves with the default asynchronous destination and with a plain stream", async () => {
    await flushLogger(createLogger({ level: "silent" }));
    await flushLogger(createLogger({ level: "info", destination: capture().stream }));
  });
});

describe("securityEvent", () => {
  it("logs at warn with security: true, source, account and reason", () => {
    const out = capture();
    const logger = createLogger({ level: "info", destination: out.stream });
    securityEvent(logger, { source: "203.0.113.9:5060", account: "acme", reason: "auth-failed", method: "REGISTER" });
    const [line] = out.lines();
    assert.equal(line?.["level"], "warn");
    assert.equal(line?.["security"], true);
    assert.equal(line?.["source"], "203.0.113.9:5060");
    assert.equal(line?.["account"], "acme");
    assert.equal(line?.["reason"], "auth-failed");
    assert.equal(line?.["method"], "REGISTER");
  });
});
