import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { err, ok, type Result } from "../lib/index.ts";
import { configSchema, type Config } from "./schema.ts";

/** One thing wrong with a configuration; `path` is empty for file-level problems (unreadable, YAML syntax). */
export interface ConfigIssue {
  /** Where the config came from: a file path, `<inline>`, or an environment variable. */
  readonly source: string;
  /** Dotted path with list indices, e.g. `sip.listen[1].port`. */
  readonly path: string;
  readonly message: string;
  /** 1-based position, for YAML syntax errors. */
  readonly line?: number;
  readonly col?: number;
  /** Stable code for file-level issues: CONFIG_READ_FAILED, CONFIG_YAML_SYNTAX, CONFIG_NOT_A_MAPPING. */
  readonly code?: string;
}

/** Configuration values that may come from the environment; see docs/configuration.md. */
export interface ConfigEnvironment {
  readonly TRUNKLINE_CONFIG?: string | undefined;
  readonly TRUNKLINE_LOG_LEVEL?: string | undefined;
}

/** Renders `sip.listen[1].port` from zod's path array. */
export function formatConfigPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** One line per issue, as the CLI prints it: `file:3:1: message` or `file: sip.listen[1].port: message`. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line !== undefined ? `${issue.source}:${issue.line}:${issue.col ?? 1}` : issue.source;
  return issue.path === "" ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

function issuesFromZod(error: z.ZodError, source: string, env: ConfigEnvironment): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      // One issue per key, each with its full path: the operator fixes them one by one.
      for (const key of issue.keys) {
        out.push({ source, path: formatConfigPath([...issue.path, key]), message: "unknown key (check the spelling)" });
      }
      continue;
    }
    const path = formatConfigPath(issue.path);
    const fromEnv = path === "log.level" && env.TRUNKLINE_LOG_LEVEL !== undefined;
    out.push({ source: fromEnv ? "TRUNKLINE_LOG_LEVEL" : source, path, message: issue.message });
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function withEnvironment(raw: Record<string, unknown>, env: ConfigEnvironment): Record<string, unknown> {
  if (env.TRUNKLINE_LOG_LEVEL === undefined || env.TRUNKLINE_LOG_LEVEL === "") return raw;
  const log = isPlainObject(raw["log"]) ? raw["log"] : {};
  return { ...raw, log: { ...log, level: env.TRUNKLINE_LOG_LEVEL } };
}

/** Validates an already-parsed value (tests and tools build configs as objects); env overrides apply when given. */
export function parseConfigObject(value: unknown, source = "<inline>", env: ConfigEnvironment = {}): Result<Config, ConfigIssue[]> {
  // An empty YAML document is null: it means "all defaults".
  const raw = value === null || value === undefined ? {} : value;
  if (!isPlainObject(raw)) {
    return err([{ source, path: "", code: "CONFIG_NOT_A_MAPPING", message: "expected a mapping of sections (sip, storage, log, http, provisioning)" }]);
  }
  const parsed = configSchema.safeParse(withEnvironment(raw, env));
  if (!parsed.success) return err(issuesFromZod(parsed.error, source, env));
  return ok(parsed.data);
}

/** Parses YAML text and validates it; every YAML or schema error is reported, not only the first. */
export function parseConfigText(text: string, source = "<inline>", env: ConfigEnvironment = {}): Result<Config, ConfigIssue[]> {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    return err(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        // yaml appends " at line L, column C:" and a source excerpt; we report the position separately.
        const message = e.message.split(/ at line \d+, column \d+/)[0] ?? e.message;
        const issue: ConfigIssue = { source, path: "", code: "CONFIG_YAML_SYNTAX", message: `YAML syntax: ${message}` };
        return pos === undefined ? issue : { ...issue, line: pos.line, col: pos.col };
      }),
    );
  }
  return parseConfigObject(doc.toJS({ maxAliasCount: 100 }), source, env);
}

/** Relative file paths in a config file mean "next to the config file", not "wherever the server was started". */
function resolveRelativePaths(config: Config, baseDir: string): Config {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const tls = config.sip.tls;
  return {
    ...config,
    sip: {
      ...config.sip,
      tls:
        tls === undefined
          ? undefined
          : { ...tls, certFile: abs(tls.certFile), keyFile: abs(tls.keyFile), caFile: tls.caFile === undefined ? undefined : abs(tls.caFile) },
    },
    storage: { ...config.storage, path: config.storage.path === ":memory:" ? ":memory:" : abs(config.storage.path) },
    http: { ...config.http, tls: config.http.tls === undefined ? undefined : { certFile: abs(config.http.tls.certFile), keyFile: abs(config.http.tls.keyFile) } },
    security:
      config.security.fraud.rangesFile === undefined ? config.security : { ...config.security, fraud: { ...config.security.fraud, rangesFile: abs(config.security.fraud.rangesFile) } },
  };
}

/** Reads and validates a YAML config file; relative paths inside it are resolved against its folder. */
export async function loadConfigFile(path: string, env: ConfigEnvironment = {}): Promise<Result<Config, ConfigIssue[]>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    const reason = cause instanceof Error && "code" in cause ? String(cause.code) : String(cause);
    return err([{ source: path, path: "", code: "CONFIG_READ_FAILED", message: `cannot read the file (${reason})` }]);
  }
  const result = parseConfigText(text, path, env);
  return result.ok ? ok(resolveRelativePaths(result.value, dirname(resolve(path)))) : result;
}

/** Where the config comes from and which overrides apply; the one place that reads process.env. */
export function readConfigEnvironment(env: NodeJS.ProcessEnv = process.env): ConfigEnvironment {
  return { TRUNKLINE_CONFIG: env["TRUNKLINE_CONFIG"], TRUNKLINE_LOG_LEVEL: env["TRUNKLINE_LOG_LEVEL"] };
}

/**
 * The server's configuration: the file named by `path`, else $TRUNKLINE_CONFIG, else all defaults
 * (relative paths then resolve against the working directory); $TRUNKLINE_LOG_LEVEL overrides log.level.
 */
export async function loadConfig(options: { path?: string | undefined; env?: ConfigEnvironment } = {}): Promise<Result<Config, ConfigIssue[]>> {
  const env = options.env ?? readConfigEnvironment();
  const path = options.path ?? (env.TRUNKLINE_CONFIG === "" ? undefined : env.TRUNKLINE_CONFIG);
  if (path === undefined) return parseConfigObject({}, "<defaults>", env);
  return loadConfigFile(path, env);
}
