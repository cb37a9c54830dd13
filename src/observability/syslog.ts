// RFC 5424 syslog for security events (and optionally every warning), to a SIEM over UDP
// (RFC 5426), TCP (RFC 6587 octet counting) or TLS (RFC 5425). Sending never blocks the caller
// and never throws: a collector that is down costs a bounded queue and counted drops.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { connect as tcpConnect, isIP, type Socket } from "node:net";
import { hostname } from "node:os";
import { connect as tlsConnect } from "node:tls";

export type SyslogProtocol = "udp" | "tcp" | "tls";

/** RFC 5424 6.2.1 facility names and their codes. */
export const SYSLOG_FACILITIES = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  ntp: 12, audit: 13, alert: 14, clock: 15, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const;
export type SyslogFacility = keyof typeof SYSLOG_FACILITIES;

/** Options of createSyslogSink; everything but host has a default. */
export interface SyslogOptions {
  readonly host: string;
  /** Default 514 for udp and tcp, 6514 for tls (RFC 5425). */
  readonly port?: number;
  readonly protocol?: SyslogProtocol;
  readonly facility?: SyslogFacility;
  /** APP-NAME, at most 48 printable US-ASCII characters. Default "trunkline". */
  readonly appName?: string;
  /** SD-ID of the structured data element; `name@<private enterprise number>`. Default "trunkline@32473" (RFC 5612's example number). */
  readonly sdId?: string;
  /** Forward every warn/error/fatal line, not only security events. Default false. */
  readonly allWarnings?: boolean;
  /** Messages held while a TCP/TLS collector is unreachable or slow; more are dropped (counted). Default 1000. */
  readonly maxQueue?: number;
  /** Longest SYSLOG-MSG in octets; MSG is cut to fit. Default 8192 (RFC 5426 asks receivers for at least 2048). */
  readonly maxMessageBytes?: number;
  /** TLS: CAs that sign the collector's certificate; system roots when absent. */
  readonly caFile?: string;
  /** First reconnect delay after a TCP/TLS failure; doubles up to 30 s. Default 1000. */
  readonly reconnectMs?: number;
  /** HOSTNAME field; default the machine's host name. */
  readonly hostname?: string;
}

/** One message before formatting. */
export interface SyslogRecord {
  /** RFC 5424 6.2.1 severity, 0 (emergency) to 7 (debug). */
  readonly severity: number;
  /** ISO 8601 timestamp (RFC 3339, as Date.toISOString writes it). */
  readonly timestamp: string;
  readonly msgId: string;
  /** Parameters of the structured data element, in order. */
  readonly params: ReadonlyArray<readonly [string, string]>;
  readonly msg: string;
}

/** Counters of a sink, for /metrics and tests. */
export interface SyslogStats {
  /** Messages handed to the network. */
  readonly sent: number;
  /** Messages dropped: queue full, send error, or a connection lost with them in flight. */
  readonly dropped: number;
  /** Messages waiting for the collector. */
  readonly queued: number;
}

const NILVALUE = "-";
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const MAX_RECONNECT_MS = 30_000;
// Above this many unsent bytes in the socket a TCP/TLS collector is treated as slow and we queue.
const SOCKET_HIGH_WATER = 256 * 1024;

/** pino level labels to RFC 5424 severities. */
const SEVERITY: Readonly<Record<string, number>> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

/** Fields of a log line that go into structured data when present (never credentials: those are never logged). */
const SD_FIELDS = ["source", "account", "reason", "rule", "action", "code", "direction", "method", "callId", "trunk"] as const;

/**
 * A header field: PRINTUSASCII (33..126) only, at most `max` characters, NILVALUE when empty.
 * Anything else a log line could carry (spaces, non-ASCII) is replaced rather than breaking the header.
 */
export function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, "_").slice(0, max);
  return clean === "" ? NILVALUE : clean;
}

/** An SD-NAME: printable US-ASCII except `=`, space, `]` and `"`, at most 32 characters. */
export function sdName(value: string): string {
  return value.replace(/[^\x21-\x7e]|[=\]"]/g, "_").slice(0, 32);
}

/** RFC 5424 6.3.3: in a PARAM-VALUE, `"`, `\` and `]` MUST be escaped with a backslash. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** Cuts a buffer to at most `max` bytes without splitting a UTF-8 character. */
function cutUtf8(data: Buffer, max: number): Buffer {
  if (data.length <= max) return data;
  let end = Math.max(0, max);
  // Continuation bytes are 10xxxxxx; step back to the start of the character that does not fit.
  while (end > 0 && ((data[end] ?? 0) & 0xc0) === 0x80) end--;
  return data.subarray(0, end);
}

/**
 * Formats one RFC 5424 SYSLOG-MSG:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID param="value"...] BOM MSG`,
 * PRI being facility * 8 + severity. MSG is UTF-8, announced by the BOM (RFC 5424 6.4).
 */
export function formatSyslog(
  record: SyslogRecord,
  header: { readonly facility: number; readonly hostname: string; readonly appName: string; readonly procId: string; readonly sdId: string },
  maxBytes = 8192,
): Buffer {
  const pri = header.facility * 8 + Math.min(7, Math.max(0, record.severity));
  const params = record.params.map(([name, value]) => ` ${sdName(name)}="${escapeParamValue(value)}"`).join("");
  const head =
    `<${pri}>1 ${headerField(record.timestamp, 32)} ${headerField(header.hostname, 255)} ${headerField(header.appName, 48)} ` +
    `${headerField(header.procId, 128)} ${headerField(record.msgId, 32)} [${sdName(header.sdId)}${params}] `;
  const headBytes = Buffer.from(head, "utf8");
  const msg = cutUtf8(Buffer.from(record.msg, "utf8"), maxBytes - headBytes.length - BOM.length);
  return Buffer.concat([headBytes, BOM, msg]);
}

/** RFC 6587 3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN the octets of SYSLOG-MSG. */
export function frameOctetCounted(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${message.length} `, "ascii"), message]);
}

/**
 * Turns one pino JSON line into a record, or null when it is not to be forwarded: security events
 * (`security: true`) always, other warn+ lines only with `allWarnings`.
 */
export function recordFromLogLine(line: string, allWarnings: boolean): SyslogRecord | null {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return null;
    entry = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  // Our logger writes level labels (formatters.level in logger.ts), never pino's numbers.
  const severity = typeof entry["level"] === "string" ? (SEVERITY[entry["level"]] ?? 6) : 6;
  const security = entry["security"] === true;
  if (!security && !(allWarnings && severity <= 4)) return null;
  const params: Array<[string, string]> = [];
  for (const field of SD_FIELDS) {
    const v = entry[field];
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") params.push([field, String(v)]);
  }
  const reason = typeof entry["reason"] === "string" ? entry["reason"] : null;
  const time = typeof entry["time"] === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$/.test(entry["time"]) ? entry["time"] : new Date().toISOString();
  return { severity, timestamp: time, msgId: security ? (reason ?? "security") : "log", params, msg: line.trimEnd() };
}

/** Where the sink writes; pino lines go in through writeLogLine. */
export class SyslogSink {
  private readonly protocol: SyslogProtocol;
  private readonly port: number;
  private readonly header: { facility: number; hostname: string; appName: string; procId: string; sdId: string };
  private readonly maxQueue: number;
  private readonly maxBytes: number;
  private readonly allWarnings: boolean;
  private readonly ca: Buffer | undefined;
  private readonly queue: Buffer[] = [];
  private udp: UdpSocket | null = null;
  private udpInFlight = 0;
  private stream: Socket | null = null;
  private connected = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private closed = false;
  private sentCount = 0;
  private droppedCount = 0;

  constructor(private readonly options: SyslogOptions) {
    this.protocol = options.protocol ?? "udp";
    this.port = options.port ?? (this.protocol === "tls" ? 6514 : 514);
    this.header = {
      facility: SYSLOG_FACILITIES[options.facility ?? "local0"],
      hostname: options.hostname ?? hostname(),
      appName: options.appName ?? "trunkline",
      procId: String(process.pid),
      sdId: options.sdId ?? "trunkline@32473",
    };
    this.maxQueue = options.maxQueue ?? 1000;
    this.maxBytes = options.maxMessageBytes ?? 8192;
    this.allWarnings = options.allWarnings ?? false;
    this.backoffMs = options.reconnectMs ?? 1000;
    // Read once at start: a missing CA file is a configuration error the operator sees at once.
    this.ca = options.caFile !== undefined ? readFileSync(options.caFile) : undefined;
  }

  /** Counters: sent, dropped, queued. */
  stats(): SyslogStats {
    return { sent: this.sentCount, dropped: this.droppedCount, queued: this.queue.length };
  }

  /** Takes one pino JSON line and forwards it when it qualifies. Never throws. */
  writeLogLine(line: string): void {
    try {
      const record = recordFromLogLine(line, this.allWarnings);
      if (record !== null) this.send(record);
    } catch {
      this.droppedCount++;
    }
  }

  /** Formats and sends (or queues) one record. Never throws, never waits. */
  send(record: SyslogRecord): void {
    if (this.closed) {
      this.droppedCount++;
      return;
    }
    const message = formatSyslog(record, this.header, this.maxBytes);
    if (this.protocol === "udp") this.sendUdp(message);
    else this.enqueue(frameOctetCounted(message));
  }

  private sendUdp(message: Buffer): void {
    // A datagram per message (RFC 5426); the in-flight bound keeps a dead DNS or a flood from piling up.
    if (this.udpInFlight >= this.maxQueue) {
      this.droppedCount++;
      return;
    }
    if (this.udp === null) {
      this.udp = createSocket(isIP(this.options.host) === 6 ? "udp6" : "udp4");
      this.udp.on("error", () => {});
      this.udp.unref();
    }
    this.udpInFlight++;
    this.udp.send(message, this.port, this.options.host, (error) => {
      this.udpInFlight--;
      if (error) this.droppedCount++;
      else this.sentCount++;
    });
  }

  private enqueue(frame: Buffer): void {
    if (this.queue.length >= this.maxQueue) {
      // The oldest are kept: the start of an attack says more than its thousandth repetition.
      this.droppedCount++;
      return;
    }
    this.queue.push(frame);
    this.pump();
  }

  /** Writes queued frames while the connection takes them; connects when there is none. */
  private pump(): void {
    if (this.closed) return;
    if (!this.connected) {
      if (this.stream === null && this.reconnectTimer === null) this.connect();
      return;
    }
    const socket = this.stream;
    if (socket === null) return;
    while (this.queue.length > 0 && socket.writableLength < SOCKET_HIGH_WATER) {
      const frame = this.queue.shift();
      if (frame === undefined) break;
      socket.write(frame);
      this.sentCount++;
    }
  }

  private connect(): void {
    const host = this.options.host;
    const socket =
      this.protocol === "tls"
        ? tlsConnect({ host, port: this.port, ...(isIP(host) === 0 ? { servername: host } : {}), ...(this.ca !== undefined ? { ca: this.ca } : {}), minVersion: "TLSv1.2" })
        : tcpConnect({ host, port: this.port });
    this.stream = socket;
    socket.unref();
    socket.setNoDelay(true);
    socket.on(this.protocol === "tls" ? "secureConnect" : "connect", () => {
      this.connected = true;
      this.backoffMs = this.options.reconnectMs ?? 1000;
      this.pump();
    });
    socket.on("drain", () => this.pump());
    // The collector never speaks; anything it sends is ignored.
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => {
      // What the socket still held is lost with it.
      if (socket.writableLength > 0) this.droppedCount++;
      this.stream = null;
      this.connected = false;
      if (this.closed) return;
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        if (this.queue.length > 0) this.connect();
      }, this.backoffMs);
      this.reconnectTimer.unref();
      this.backoffMs = Math.min(MAX_RECONNECT_MS, this.backoffMs * 2);
    });
  }

  /** Sends what the connection can take within `graceMs`, then closes; queued leftovers count as dropped. */
  async close(graceMs = 1000): Promise<void> {
    if (this.closed) return;
    const deadline = Date.now() + graceMs;
    while ((this.queue.length > 0 && this.connected) || this.udpInFlight > 0) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    this.closed = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.droppedCount += this.queue.length;
    this.queue.length = 0;
    const socket = this.stream;
    if (socket !== null) {
      await new Promise<void>((resolve) => {
        const done = setTimeout(() => {
          socket.destroy();
          resolve();
        }, Math.max(50, deadline - Date.now()));
        socket.end(() => {
          clearTimeout(done);
          resolve();
        });
      });
      socket.destroy();
    }
    this.udp?.close();
    this.udp = null;
  }
}

/** Creates a sink; throws only when caFile cannot be read. */
export function createSyslogSink(options: SyslogOptions): SyslogSink {
  return new SyslogSink(options);
}
