// The CLI's output, kept in memory: runCli writes through a CliIo, so tests run commands in process
// and read what a terminal would have shown.
import { runCli, type CliIo } from "../../src/cli/run.ts";

/** A CliIo that keeps what is written, with readers for stdout and stderr so far. */
export interface MemoryIo extends CliIo {
  stdout(): string;
  stderr(): string;
}

/** A fresh in-memory CliIo. */
export function memoryIo(): MemoryIo {
  let out = "";
  let err = "";
  return { out: (t) => void (out += t), err: (t) => void (err += t), stdout: () => out, stderr: () => err };
}

/** Runs the CLI in process with `argv`; resolves with its exit code and everything it wrote. */
export async function runCliCaptured(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo();
  const code = await runCli(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}
