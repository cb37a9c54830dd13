/**
 * A client of rtpengine's ng control protocol over UDP. A request is a cookie, one space and a
 * bencoded dictionary with a `command`; the reply echoes the cookie before its own dictionary,
 * whose `result` is "ok" (or "pong"), "error" with an `error-reason`, or "load limit". rtpengine
 * keeps the replies of recent cookies, so a request retransmitted with the same cookie is answered
 * again without being run twice: that is what makes retransmission after a lost datagram safe.
 *
 * This module knows commands and dictionaries, not calls or dialogs. Failures are returned as
 * typed results with stable codes; nothing here throws for a network or protocol failure.
 */
import { type Socket, createSocket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { type Result, err, ok } from "../../lib/index.ts";
import { type BencodeDict, type BencodeValue, decodeBencode, encodeBencode, isBencodeDict } from "./bencode.ts";

/** Stable codes of ng failures; callers branch on these, never on messages. */
export type NgErrorCode =
  /** No reply within timeoutMs, retransmissions included. */
  | "NG_TIMEOUT"
  /** rtpengine answered `result: error`; `reason` holds its `error-reason`. */
  | "NG_ERROR"
  /** rtpengine refused new work because a configured load limit is reached. */
  | "NG_LOAD_LIMIT"
  /** A reply that is not a bencoded dictionary with a known result. */
  | "NG_BAD_REPLY"
  /** The datagram could not be sent (socket error). */
  | "NG_SEND_FAILED"
  /** The client was closed before or while the request was pending. */
  | "NG_CLOSED";

/** Why an ng request did not succeed. */
export interface NgError {
  readonly code: NgErrorCode;
  readonly message: string;
  /** rtpengine's own `error-reason` (NG_ERROR) or the reply's result word. */
  readonly reason?: string;
  readonly cause?: unknown;
}

/** A successful reply: the whole dictionary, `result` included. */
export type NgReply = BencodeDict;

/** Options of an ng client; only address and port are required. */
export interface NgClientOptions {
  /** rtpengine's --listen-ng address (IPv4 or IPv6). */
  readonly address: string;
  readonly port: number;
  /** Give up after this long without a reply, retransmissions included (default 1000 ms). */
  readonly timeoutMs?: number;
  /** First retransmission after this long, doubling each time (default 200 ms; 0 disables). */
  readonly retransmitMs?: number;
}

/** Parameters common to the call commands: the call and the tags of its two sides. */
export interface NgCallParams {
  readonly "call-id": string;
  readonly "from-tag"?: string;
  readonly "to-tag"?: string;
  readonly "via-branch"?: string;
  readonly [key: string]: BencodeValue | undefined;
}

/** offer: the SDP of the side identified by from-tag; rtpengine returns it rewritten for the other side. */
export interface NgOfferParams extends NgCallParams {
  readonly "from-tag": string;
  readonly sdp: string;
  readonly flags?: readonly string[];
  readonly replace?: readonly string[];
  /** RTP/AVP, RTP/SAVP, ... : the profile of the rewritten SDP. */
  readonly "transport-protocol"?: string;
  readonly codec?: NgCodecParams;
  readonly DTLS?: string;
  readonly ICE?: string;
  readonly SDES?: readonly string[];
  readonly "rtcp-mux"?: readonly string[];
}

/** rtpengine's codec manipulation: each list holds codec names (or `all` for strip/mask). */
export interface NgCodecParams {
  readonly strip?: readonly string[];
  readonly mask?: readonly string[];
  readonly transcode?: readonly string[];
  readonly offer?: readonly string[];
  readonly except?: readonly string[];
  readonly consume?: readonly string[];
  readonly accept?: readonly string[];
  readonly [key: string]: BencodeValue | undefined;
}

/** answer: the SDP of the side identified by to-tag, answering the offer of from-tag. */
export interface NgAnswerParams extends NgOfferParams {
  readonly "to-tag": string;
}

/** A client bound to one rtpengine; close() when done. */
export interface NgClient {
  /** Any command, for what the typed helpers do not cover. */
  request(command: string, params?: BencodeDict): Promise<Result<NgReply, NgError>>;
  /** Resolves ok when rtpengine answers `pong`. */
  ping(): Promise<Result<NgReply, NgError>>;
  offer(params: NgOfferParams): Promise<Result<NgReply & { readonly sdp: string }, NgError>>;
  answer(params: NgAnswerParams): Promise<Result<NgReply & { readonly sdp: string }, NgError>>;
  /** Ends the call (or, with tags, one branch); the reply carries the call's final stats. */
  delete(params: NgCallParams): Promise<Result<NgReply, NgError>>;
  /** The call's statistics; NG_ERROR "Unknown call-id" once it is gone. */
  query(params: NgCallParams): Promise<Result<NgReply, NgError>>;
  /** Fails every pending request with NG_CLOSED and closes the socket. */
  close(): Promise<void>;
}

interface Pending {
  readonly resolve: (r: Result<NgReply, NgError>) => void;
  readonly timers: NodeJS.Timeout[];
}

const fail = (code: NgErrorCode, message: string, extra: { reason?: string; cause?: unknown } = {}): { ok: false; error: NgError } =>
  err({ code, message, ...extra });

/** Creates an ng client with its own UDP socket (bound lazily on the first request). */
export function createNgClient(options: NgClientOptions): NgClient {
  const timeoutMs = options.timeoutMs ?? 1000;
  const retransmitMs = options.retransmitMs ?? 200;
  const family = isIP(options.address) === 6 ? "udp6" : "udp4";
  const pending = new Map<string, Pending>();
  // The cookie only has to be unique among this client's outstanding and recently answered
  // requests; a random prefix keeps two clients (or a restarted process) from colliding in
  // rtpengine's reply cache.
  const prefix = randomBytes(6).toString("hex");
  let seq = 0;
  let socket: Socket | undefined;
  let closed = false;

  const settle = (cookie: string, result: Result<NgReply, NgError>): void => {
    const p = pending.get(cookie);
    if (p === undefined) return;
    pending.delete(cookie);
    for (const t of p.timers) clearTimeout(t);
    p.resolve(result);
  };

  const onMessage = (msg: Buffer): void => {
    const space = msg.indexOf(0x20);
    if (space <= 0) return;
    const cookie = msg.toString("latin1", 0, space);
    if (!pending.has(cookie)) return; // late reply to a request already settled
    const decoded = decodeBencode(msg, space + 1);
    if (!decoded.ok) {
      settle(cookie, fail("NG_BAD_REPLY", `ng reply is not bencode (${decoded.error.code} at ${decoded.error.offset})`));
      return;
    }
    const reply = decoded.value;
    if (!isBencodeDict(reply)) {
      settle(cookie, fail("NG_BAD_REPLY", "ng reply is not a dictionary"));
      return;
    }
    const result = reply["result"];
    if (result === "ok" || result === "pong") settle(cookie, ok(reply));
    else if (result === "error") {
      const reason = typeof reply["error-reason"] === "string" ? reply["error-reason"] : "unspecified";
      settle(cookie, fail("NG_ERROR", `rtpengine: ${reason}`, { reason }));
    } else if (result === "load limit") {
      settle(cookie, fail("NG_LOAD_LIMIT", "rtpengine: load limit reached", { reason: result }));
    } else {
      settle(cookie, fail("NG_BAD_REPLY", `ng reply with unknown result ${JSON.stringify(result)}`, typeof result === "string" ? { reason: result } : {}));
    }
  };

  const ensureSocket = (): Socket => {
    if (socket !== undefined) return socket;
    const s = createSocket(family);
    s.on("message", onMessage);
    // A socket error (e.g. ICMP port unreachable surfaced on Linux) must not crash the process;
    // pending requests simply time out or are retransmitted.
    s.on("error", () => {});
    socket = s;
    return s;
  };

  const request = (command: string, params: BencodeDict = {}): Promise<Result<NgReply, NgError>> => {
    if (closed) return Promise.resolve(fail("NG_CLOSED", "ng client is closed"));
    const cookie = `${prefix}_${(seq++).toString(36)}`;
    const datagram = Buffer.concat([Buffer.from(`${cookie} `, "latin1"), encodeBencode({ ...params, command })]);
    const s = ensureSocket();
    return new Promise((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      pending.set(cookie, { resolve, timers });
      const send = (): void => {
        s.send(datagram, options.port, options.address, (error) => {
          if (error !== null && error !== undefined) settle(cookie, fail("NG_SEND_FAILED", `ng send failed: ${error.message}`, { cause: error }));
        });
      };
      send();
      // Retransmit at retransmitMs, 2x, 4x ... (same cookie) until the deadline.
      if (retransmitMs > 0) {
        for (let at = retransmitMs, step = retransmitMs; at < timeoutMs; step *= 2, at += step) {
          timers.push(setTimeout(send, at));
        }
      }
      timers.push(setTimeout(() => settle(cookie, fail("NG_TIMEOUT", `no ng reply to ${command} within ${timeoutMs} ms`)), timeoutMs));
    });
  };

  const withSdp = async (command: string, params: BencodeDict): Promise<Result<NgReply & { readonly sdp: string }, NgError>> => {
    const r = await request(command, params);
    if (!r.ok) return r;
    const sdp = r.value["sdp"];
    if (typeof sdp !== "string") return fail("NG_BAD_REPLY", `ng ${command} reply has no sdp`);
    return ok({ ...r.value, sdp });
  };

  return {
    request,
    async ping() {
      const r = await request("ping");
      if (r.ok && r.value["result"] !== "pong") return fail("NG_BAD_REPLY", "ng ping answered without pong");
      return r;
    },
    offer: (params) => withSdp("offer", params),
    answer: (params) => withSdp("answer", params),
    delete: (params) => request("delete", params),
    query: (params) => request("query", params),
    async close() {
      if (closed) return;
      closed = true;
      for (const cookie of [...pending.keys()]) settle(cookie, fail("NG_CLOSED", "ng client closed"));
      const s = socket;
      socket = undefined;
      if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
