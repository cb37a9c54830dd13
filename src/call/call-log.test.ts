import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger, type Logger } from "../observability/index.ts";
import { CallLog } from "./call-log.ts";

function capture(level: "warn" | "debug"): { logger: Logger; lines: Record<string, unknown>[]; children: () => number } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  let made = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<Logger["child"]>) => {
    made++;
    return child(...args);
  }) as Logger["child"];
  return { logger, lines, children: () => made };
}

describe("CallLog", () => {
  it("makes no child logger for lines below the level", () => {
    const { logger, lines, children } = capture("warn");
    const log = new CallLog(logger, { callId: "abc@host", trunk: "acme" });
    log.info({ target: "x" }, "attempt started");
    log.debug({}, "challenged");
    assert.equal(children(), 0);
    assert.equal(lines.length, 0);
  });

  it("writes lines at or above the level with the call's bindings, through one child", () => {
    const { logger, lines, children } = capture("debug");
    const log = new CallLog(logger, { callId: "abc@host", trunk: null });
    log.info({ target: "x" }, "attempt started");
    log.error({ reason: "y" }, "error while ending call");
    assert.equal(children(), 1);
    assert.deepEqual(
      lines.map((l) => [l["level"], l["msg"], l["callId"], l["trunk"], l["target"] ?? l["reason"]]),
      [
        ["info", "attempt started", "abc@host", null, "x"],
        ["error", "error while ending call", "abc@host", null, "y"],
      ],
    );
    assert.equal(log.logger, log.logger);
  });
});
