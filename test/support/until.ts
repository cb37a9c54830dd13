// Waiting in tests for something a socket, a timer or another process will change. One helper, so
// every test waits the same bounded way and says what it waited for when it gives up.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `intervalMs` until it holds or `timeoutMs` have passed; resolves whether it held. */
export async function poll(check: () => boolean | Promise<boolean>, timeoutMs = 5000, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** Polls `check` until it holds; rejects after `timeoutMs`, naming `what` (or what it returns: the state seen). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what: string | (() => string) = "a condition"): Promise<void> {
  if (await poll(check, timeoutMs)) return;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
}
