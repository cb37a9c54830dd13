// Builds the native media I/O addon (native/media-io) with node-gyp during npm install.
// It never fails the install: without a compiler or on another OS, Trunkline relays media with
// node:dgram (media.io: auto falls back), and this prints why.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const addonDir = join(root, "native", "media-io");

function warn(reason) {
  console.warn(`trunkline: native media I/O not built (${reason}); media will be relayed with node:dgram`);
}

function nodeGyp() {
  // npm tells scripts where its bundled node-gyp is; otherwise look next to this node.
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  return candidates.find((c) => c !== undefined && c !== "" && existsSync(c));
}

function main() {
  if (process.env.TRUNKLINE_SKIP_NATIVE === "1") return warn("TRUNKLINE_SKIP_NATIVE=1");
  if (process.platform !== "linux") return warn(`${process.platform} is not supported, it needs Linux recvmmsg/epoll`);
  const gyp = nodeGyp();
  if (gyp === undefined) return warn("node-gyp not found");
  const args = [gyp, "rebuild"];
  // Use the installed Node headers when they are there, instead of downloading them.
  const prefix = join(dirname(process.execPath), "..");
  if (process.env.npm_config_nodedir === undefined && existsSync(join(prefix, "include", "node", "node_api.h"))) {
    args.push(`--nodedir=${prefix}`);
  }
  const r = spawnSync(process.execPath, args, { cwd: addonDir, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) {
    const tail = (r.stderr ?? "").trim().split("\n").slice(-5).join("\n");
    return warn(`node-gyp exited with ${r.status ?? r.signal ?? r.error?.message}${tail === "" ? "" : `:\n${tail}`}`);
  }
  console.log("trunkline: native media I/O built");
}

try {
  main();
} catch (e) {
  warn(e instanceof Error ? e.message : String(e));
}
