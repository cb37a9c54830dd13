// Entry point of the `trunkline` binary (bin/trunkline.js imports this file, built or not).
import { runCli } from "./run.ts";

const code = await runCli(process.argv.slice(2), {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
});
process.exitCode = code;
// Normally nothing is left and Node exits now. If a component leaked a handle, do not hang a
// service manager's stop: exit anyway shortly (the timer itself does not hold the process).
setTimeout(() => process.exit(code), 2000).unref();
