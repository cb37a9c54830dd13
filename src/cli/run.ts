import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfigOrReport } from "./load-config.ts";
import { startTrunkline, type TrunklineHandle } from "../main.ts";
import { parseCdrOptions, runCdrCommand, type CdrCommandOptions } from "./cdr.ts";
import { runPlanCommand, type PlanCommandOptions } from "./plan.ts";
import { runApplyCommand } from "./apply.ts";
import { parseBansOptions, runBansCommand } from "./bans.ts";

/** Where the CLI writes; tests pass buffers. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** Exit codes: 0 done, 1 failure (bad config, cannot start), 2 wrong usage. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export const USAGE = `Usage: trunkline <command> [options]

Commands:
  start              Start the server; runs until SIGINT or SIGTERM.
  cdr                List call detail records, newest first, as CSV (default) or JSON.
  plan               Channels (Erlang B) and bandwidth per trunk, from figures or from the stored CDRs.
  apply              Validate a provisioning file, show what it changes, and store it.
  bans               List, add (bans add IP) or lift (bans lift IP) bans on the running server;
                     bans suspensions lists fraud-suspended customers, bans unsuspend CUSTOMER lifts one;
                     bans locks lists locked digest accounts, bans unlock ACCOUNT lifts a lock.

Options:
  -c, --config FILE  YAML configuration file (default: $TRUNKLINE_CONFIG, else built-in defaults).
  -h, --help         Show this help.
  -v, --version      Show the version.

Options of cdr (combined with AND):
  --from ISO         Calls started at or after this time (2026-01-31 or 2026-01-31T12:00:00Z).
  --to ISO           Calls started before this time.
  --trunk ID         Calls of this customer or carrier id.
  --number N         Calls whose caller or callee contains N (as received or as E.164).
  --disposition D    answered, busy, no-answer, cancelled, failed, refused or interrupted.
  --limit N          At most N records (default 100); --offset N skips the first N.
  --format F         csv (header row first) or json (an array).
  --with-trace       Include each call's decision trace.

Options of plan (--calls and --duration: one plan from figures; otherwise every trunk from the CDRs):
  --calls N          Calls in the busy hour.
  --duration S       Their mean duration in seconds.
  --channels N       A channel limit to check against what the traffic needs.
  --days N           From the CDRs: busy hour of each trunk over the last N days (default 7).
  --blocking P       Target blocking probability, 0.01 or 1% (default 0.01).
  --codec C          G711 (default), G722, G729 or opus (planned at 32 kbit/s).
  --ptime MS         Packetization interval in ms (default 20).
  --layer L          Bandwidth of ethernet frames (default) or of ip packets.

Options of apply:
  -f, --file FILE    YAML file with a provisioning: section (the config file's schema).
  --dry-run          Validate and show the changes (added, changed, removed, by id); store nothing.
  A running server reads stored provisioning at its next start; the HTTP API applies changes at once.

Options of bans (a client of the running server's API at http.listen; the server keeps bans, suspensions and locks):
  --seconds N        bans add: ban for N seconds (default: until lifted).
  --reason TEXT      bans add: why, shown in the list and the security log.
  --token-file FILE  A file holding an API token (admin for any change), when http.tokens is set.

Environment:
  TRUNKLINE_CONFIG     Configuration file used when --config is not given.
  TRUNKLINE_LOG_LEVEL  Overrides log.level (fatal, error, warn, info, debug, trace, silent).

Configuration reference: docs/configuration.md
`;

/** The package version, read from package.json two folders up (the same from src/cli and dist/cli). */
export function packageVersion(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed === "object" && parsed !== null && "version" in parsed && typeof parsed.version === "string") return parsed.version;
  return "unknown";
}

/** Resolves with the first of the given signals to arrive; the promise's timer keeps the process alive meanwhile. */
function waitForSignal(signals: readonly NodeJS.Signals[]): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    // Signal listeners alone do not keep Node running; until the SIP stack owns sockets, this does.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const handlers = signals.map((s) => {
      const h = (): void => {
        clearInterval(keepAlive);
        for (const [sig, fn] of handlers) process.off(sig, fn);
        resolveSignal(s);
      };
      process.on(s, h);
      return [s, h] as const;
    });
  });
}

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = "code" in e && typeof e.code === "string" ? `${e.code}: ` : "";
  const cause = e.cause instanceof Error ? ` (${e.cause.message})` : "";
  return `${code}${e.message}${cause}`;
}

async function start(configPath: string | undefined, io: CliIo): Promise<number> {
  const config = await loadConfigOrReport(configPath, io);
  if (config === null) return EXIT_FAILURE;

  let handle: TrunklineHandle;
  try {
    handle = await startTrunkline(config);
  } catch (e) {
    io.err(`trunkline: cannot start: ${describeError(e)}\n`);
    return EXIT_FAILURE;
  }

  const signal = await waitForSignal(["SIGINT", "SIGTERM"]);
  handle.logger.child({ layer: "cli" }).info({ signal }, "signal received");
  // A second signal while stopping means the operator wants out now.
  const force = (): void => {
    io.err("trunkline: stopping was interrupted\n");
    process.exit(EXIT_FAILURE);
  };
  process.once("SIGINT", force);
  process.once("SIGTERM", force);
  try {
    await handle.stop();
  } finally {
    process.off("SIGINT", force);
    process.off("SIGTERM", force);
  }
  return EXIT_OK;
}

/** Runs one CLI invocation and resolves with the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
        from: { type: "string" },
        to: { type: "string" },
        trunk: { type: "string" },
        number: { type: "string" },
        disposition: { type: "string" },
        limit: { type: "string" },
        offset: { type: "string" },
        format: { type: "string" },
        "with-trace": { type: "boolean" },
        calls: { type: "string" },
        duration: { type: "string" },
        channels: { type: "string" },
        days: { type: "string" },
        blocking: { type: "string" },
        codec: { type: "string" },
        ptime: { type: "string" },
        layer: { type: "string" },
        file: { type: "string", short: "f" },
        "dry-run": { type: "boolean" },
        seconds: { type: "string" },
        reason: { type: "string" },
        "token-file": { type: "string" },
      },
    });
  } catch (e) {
    io.err(`trunkline: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.out(USAGE);
    return EXIT_OK;
  }
  if (values.version === true) {
    io.out(`trunkline ${packageVersion()}\n`);
    return EXIT_OK;
  }
  const [command, ...rest] = positionals;
  if (command === undefined) {
    io.err(USAGE);
    return EXIT_USAGE;
  }
  if (command === "bans") return bans(values.config, rest, values, io);
  if (values.seconds !== undefined || values.reason !== undefined || values["token-file"] !== undefined) {
    io.err(`trunkline: --seconds, --reason and --token-file are options of bans, not of ${command}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (command !== "start" && command !== "cdr" && command !== "plan" && command !== "apply") {
    io.err(`trunkline: unknown command "${command}"\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (rest.length > 0) {
    io.err(`trunkline: unexpected argument "${rest[0] ?? ""}"\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const cdrOptions: CdrCommandOptions = {
    from: values.from,
    to: values.to,
    trunk: values.trunk,
    number: values.number,
    disposition: values.disposition,
    limit: values.limit,
    offset: values.offset,
    format: values.format,
    withTrace: values["with-trace"],
  };
  const planOptions: PlanCommandOptions = {
    calls: values.calls,
    duration: values.duration,
    channels: values.channels,
    days: values.days,
    blocking: values.blocking,
    codec: values.codec,
    ptime: values.ptime,
    layer: values.layer,
  };
  const misplacedPlan = Object.entries(planOptions).find(([, v]) => v !== undefined);
  if (command !== "plan" && misplacedPlan !== undefined) {
    io.err(`trunkline: --${misplacedPlan[0]} is an option of plan, not of ${command}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const applyFlag = values.file !== undefined ? "file" : values["dry-run"] !== undefined ? "dry-run" : undefined;
  if (command !== "apply" && applyFlag !== undefined) {
    io.err(`trunkline: --${applyFlag} is an option of apply, not of ${command}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (command === "plan") {
    const misplacedCdr = Object.entries(cdrOptions).find(([, v]) => v !== undefined);
    if (misplacedCdr !== undefined) {
      const flag = misplacedCdr[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      io.err(`trunkline: --${flag} is an option of cdr, not of plan\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    return runPlanCommand(values.config, planOptions, io, USAGE);
  }
  if (command === "cdr") return cdr(values.config, cdrOptions, io);
  const misplaced = Object.entries(cdrOptions).find(([, v]) => v !== undefined);
  if (misplaced !== undefined) {
    const flag = misplaced[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    io.err(`trunkline: --${flag} is an option of cdr, not of ${command}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (command === "apply") return apply(values.config, values.file, values["dry-run"] === true, io);
  return start(values.config, io);
}

async function bans(
  configPath: string | undefined,
  args: readonly string[],
  values: { seconds?: string | undefined; reason?: string | undefined; "token-file"?: string | undefined },
  io: CliIo,
): Promise<number> {
  if (args.length > 2) {
    io.err(`trunkline: unexpected argument "${args[2] ?? ""}"\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const request = parseBansOptions({ action: args[0], address: args[1], seconds: values.seconds, reason: values.reason });
  if (!request.ok) {
    io.err(`trunkline: ${request.error}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const config = await loadConfigOrReport(configPath, io);
  if (config === null) return EXIT_FAILURE;
  try {
    const out = await runBansCommand(config, request.value, values["token-file"]);
    if (out.ok) io.out(out.text);
    else io.err(`trunkline: ${out.text}`);
    return out.ok ? EXIT_OK : EXIT_FAILURE;
  } catch (e) {
    io.err(`trunkline: cannot reach the server's API: ${describeError(e)}\n`);
    return EXIT_FAILURE;
  }
}

async function apply(configPath: string | undefined, file: string | undefined, dryRun: boolean, io: CliIo): Promise<number> {
  if (file === undefined) {
    io.err(`trunkline: apply needs -f FILE\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const config = await loadConfigOrReport(configPath, io);
  if (config === null) return EXIT_FAILURE;
  try {
    const outcome = await runApplyCommand(config, file, dryRun);
    if (!outcome.ok) {
      io.err(`trunkline: ${file} is invalid (${outcome.errors.length} error${outcome.errors.length === 1 ? "" : "s"}):\n`);
      for (const e of outcome.errors) io.err(`  ${e}\n`);
      return EXIT_FAILURE;
    }
    io.out(outcome.text);
    return EXIT_OK;
  } catch (e) {
    io.err(`trunkline: cannot apply: ${describeError(e)}\n`);
    return EXIT_FAILURE;
  }
}

async function cdr(configPath: string | undefined, options: CdrCommandOptions, io: CliIo): Promise<number> {
  const command = parseCdrOptions(options);
  if (!command.ok) {
    for (const e of command.errors) io.err(`trunkline: ${e}\n`);
    io.err(`\n${USAGE}`);
    return EXIT_USAGE;
  }
  const config = await loadConfigOrReport(configPath, io);
  if (config === null) return EXIT_FAILURE;
  try {
    const { text, shown, total } = await runCdrCommand(config, command.value);
    io.out(text);
    // On stderr, so that redirected CSV or JSON stays clean.
    if (shown < total) io.err(`trunkline: ${shown} of ${total} matching records shown; use --limit and --offset for more\n`);
    return EXIT_OK;
  } catch (e) {
    io.err(`trunkline: cannot list CDRs: ${describeError(e)}\n`);
    return EXIT_FAILURE;
  }
}
