import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import type { Clock, Timer } from "../../lib/index.ts";
import { DEFAULT_TLS_CIPHERS, TransportError, type TlsEvent, type TlsOptions } from "./types.ts";

const DEFAULT_RELOAD_CHECK_MS = 5000;

/** The loaded certificate, key and CA with the policy (versions, ciphers) they are served with. */
export interface TlsPair {
  /** Options for a server's context (createServer, setSecureContext). */
  readonly options: SecureContextOptions;
  /** The same, built once, for outbound connections. */
  readonly context: SecureContext;
}

/** What identifies a version of a file without reading it: inode, size, modification time. */
function signatureOf(files: readonly string[]): string {
  return files
    .map((file) => {
      try {
        const s = statSync(file);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return "missing";
      }
    })
    .join("|");
}

/** The string `code` of an error (Node's and OpenSSL's), else `fallback`. */
export function errorCode(error: unknown, fallback: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : fallback;
}

/** Reads the files and builds the context; throws (OpenSSL's error) when they do not make a usable pair. */
function loadPair(tls: TlsOptions): TlsPair {
  const options: SecureContextOptions = {
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ...(tls.caFile !== undefined ? { ca: readFileSync(tls.caFile) } : {}),
    minVersion: tls.minVersion ?? "TLSv1.2",
    ciphers: tls.ciphers ?? DEFAULT_TLS_CIPHERS,
    // The server's preference order, so a client cannot steer to the weakest suite both allow.
    honorCipherOrder: true,
  };
  // Building the context checks that the key matches the certificate and that the cipher string means something.
  return { options, context: createSecureContext(options) };
}

function describe(pair: TlsPair): { subject: string | null; validTo: string | null } {
  try {
    const cert = new X509Certificate(pair.options.cert as Buffer);
    return { subject: cert.subject.replace(/\n/g, ", "), validTo: cert.validTo };
  } catch {
    return { subject: null, validTo: null };
  }
}

/**
 * The TLS certificate, key and CA of a transport, reloaded when their files change: the files are
 * stat'ed every `reloadCheckMs` and loaded once their signature has held still for one whole
 * check, so a renewal that writes the certificate and the key one after the other is not read
 * half-done. A pair that does not load is reported and the previous one stays in use.
 */
export class TlsMaterial {
  private pair: TlsPair;
  private loadedSignature: string;
  private seenSignature: string;
  private failedSignature: string | null = null;
  private timer: Timer | null = null;
  private readonly files: readonly string[];
  private readonly listeners: Array<(pair: TlsPair) => void> = [];

  /** Loads the files now; throws ERR_TRANSPORT_BIND when they cannot be read or do not match. */
  constructor(
    private readonly tls: TlsOptions,
    private readonly clock: Clock,
    private readonly onEvent: (event: TlsEvent) => void,
  ) {
    this.files = [tls.certFile, tls.keyFile, ...(tls.caFile !== undefined ? [tls.caFile] : [])];
    this.loadedSignature = signatureOf(this.files);
    this.seenSignature = this.loadedSignature;
    try {
      this.pair = loadPair(tls);
    } catch (cause) {
      throw new TransportError("ERR_TRANSPORT_BIND", "cannot load the TLS certificate, key or CA file", { cause });
    }
  }

  /** The pair in use now. */
  current(): TlsPair {
    return this.pair;
  }

  /** Calls `listener` with every newly loaded pair (servers swap their context with it). */
  onReload(listener: (pair: TlsPair) => void): void {
    this.listeners.push(listener);
  }

  /** Starts checking the files for changes (no-op when reloadCheckMs is 0 or already started). */
  watch(): void {
    const every = this.tls.reloadCheckMs ?? DEFAULT_RELOAD_CHECK_MS;
    if (every <= 0 || this.timer !== null) return;
    const tick = (): void => {
      this.check();
      this.timer = this.clock.schedule(every, tick);
    };
    this.timer = this.clock.schedule(every, tick);
  }

  /** Stops checking. */
  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** One check: loads the files when they changed and then held still since the previous check. */
  check(): void {
    const signature = signatureOf(this.files);
    const settled = signature === this.seenSignature;
    this.seenSignature = signature;
    if (!settled || signature === this.loadedSignature || signature === this.failedSignature) return;
    let next: TlsPair;
    try {
      next = loadPair(this.tls);
    } catch (error) {
      // Reported once per version of the files; the next change is tried again.
      this.failedSignature = signature;
      this.onEvent({ kind: "reload-failed", certFile: this.tls.certFile, code: errorCode(error, "ERR_TLS_FILES"), reason: error instanceof Error ? error.message : String(error) });
      return;
    }
    this.pair = next;
    this.loadedSignature = signature;
    this.failedSignature = null;
    for (const listener of this.listeners) listener(next);
    this.onEvent({ kind: "reloaded", certFile: this.tls.certFile, ...describe(next) });
  }
}
