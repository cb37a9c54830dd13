// Builds the native addons with node-gyp during npm install: media I/O (native/media-io) and SIP
// UDP I/O (native/sip-io). It never fails the install: without a compiler or on another OS,
// Trunkline uses node:dgram for both (media.io and sip.udpIo: auto fall back), and this prints why.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const addons = [
  { dir: join(root, "native", "media-io"), name: "native media I/O", fallback: "media will be relayed with node:dgram" },
  { dir: join(root, "native", "sip-io"), name: "native SIP UDP I/O", fallback: "SIP over UDP will use node:dgram" },
];

function warn(addon, reason) {
  console.warn(`trunkline: ${addon.name} not built (${reason}); ${addon.fallback}`);
}

function nodeGyp() {
  // npm tells scripts where its bundled node-gyp is; otherwise look next to this node.
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  return candidates.find((c) => c !== undefined && c !== "" && existsSync(c));
}

function build(addon) {
  if (process.env.TRUNKLINE_SKIP_NATIVE === "1") return warn(addon, "TRUNKLINE_SKIP_NATIVE=1");
  if (process.platform !== "linux") return warn(addon, `${process.platform} is not supported, it needs Linux recvmmsg/sendmmsg`);
  const gyp = nodeGyp();
  if (gyp === undefined) return warn(addon, "node-gyp not found");
  const args = [gyp, "rebuild"];
  // Use the installed Node headers when they are there, instead of downloading them.
  const prefix = join(dirname(process.execPath), "..");
  if (process.env.npm_config_nodedir === undefined && existsSync(join(prefix, "include", "node", "node_api.h"))) {
    args.push(`--nodedir=${prefix}`);
  }
  const r = spawnSync(process.execPath, args, { cwd: addon.dir, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) {
    const tail = (r.stderr ?? "").trim().split("\n").slice(-5).join("\n");
    return warn(addon, `node-gyp exited with ${r.status ?? r.signal ?? r.error?.message}${tail === "" ? "" : `:\n${tail}`}`);
  }
  console.log(`trunkline: ${addon.name} built`);
}

for (const addon of addons) {
  try {
    build(addon);
  } catch (e) {
    warn(addon, e instanceof Error ? e.message : String(e));
  }
}
