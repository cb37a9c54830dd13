import { q850Reason, type Refusal } from "../domain/index.ts";
import { DelayQueue, type Timer } from "../lib/index.ts";
import type { Logger } from "../observability/index.ts";
import { securityEvent } from "../observability/index.ts";
import {
  getHeaders,
  createChallenge,
  NonceCountTracker,
  parseCredentials,
  unhandledResponse,
  type HeaderField,
  type InboundContext,
  type NameAddr,
  type ServerTransaction,
  type SipRequest,
  type TransportProtocol,
} from "../sip/index.ts";
import { Call, type CallEnv, type Side } from "./b2bua.ts";
import { CallLog } from "./call-log.ts";
import { sessionExpiresOf } from "./sip-rules.ts";
import { listeningAddress } from "./advertised.ts";
import { CdrDraft } from "./cdr.ts";
import { ChannelTable } from "./channels.ts";
import { createFraudEngine } from "./fraud-engine.ts";
import { passThroughMediaAnchor } from "./media-anchor.ts";
import { inboundPipeline, outboundPipeline, rawUser, type PipelineEnv, type PipelineOutcome } from "./pipeline.ts";
import type { CallLayer, CallLayerDeps } from "./types.ts";
import type { CallDetailRecord } from "../ports/index.ts";

/** The username of the request's Proxy-Authorization, if any (for failed-auth counting). */
function digestUsernameOf(req: SipRequest): string | undefined {
  const header = getHeaders(req, "Proxy-Authorization")[0];
  if (header === undefined) return undefined;
  const parsed = parseCredentials(header);
  return parsed.ok ? parsed.value.username : undefined;
}

// How long a closed CDR waits for the relay's final media counts before it is written without them.
const FINAL_MEDIA_GRACE_MS = 2000;
const IN_DIALOG_METHODS = ["BYE", "UPDATE", "INFO", "PRACK", "REFER", "NOTIFY", "OPTIONS"] as const;

/** Creates the B2BUA call layer and registers it on the stack for INVITE, ACK and in-dialog requests. */
export function createCallLayer(deps: CallLayerDeps): CallLayer {
  const { stack, clock, options } = deps;
  const log = deps.logger.child({ layer: "call" });
  const media = deps.media ?? passThroughMediaAnchor();
  const fraud = deps.fraud ?? createFraudEngine({ clock, logger: log });
  const cdrs = deps.cdrs;
  /**
   * The single place every call ends: a call's record is closed exactly once however it ended
   * (answered and hung up, cancelled, failed, refused, media timeout, shutdown), so the fraud
   * engine hears of each ending (before the write, so its counters never lag the next call) and
   * onCallEnded of each record written.
   */
  const closeRecord = async (record: CallDetailRecord): Promise<void> => {
    try {
      fraud.callEnded(record);
    } catch (error) {
      // A bug in the engine must not cost the call its record.
      log.error({ err: error, cdr: record.id }, "fraud engine failed on a call's end");
    }
    await cdrs.close(record);
    deps.onCallEnded?.(record);
  };
  const channels = new ChannelTable();
  const minSe = Math.max(90, options.minSessionExpiresSeconds ?? 90);
  const referPolicy = options.referPolicy ?? "reject";
  const calls = new Set<Call>();
  const legs = new Map<string, { call: Call; side: Side }>();
  const legKeys = new Map<Call, string[]>();
  const pendingWrites = new Set<Promise<void>>();
  let stopping = false;

  const track = (p: Promise<void>): void => {
    pendingWrites.add(p);
    void p.finally(() => pendingWrites.delete(p));
  };

  const advertised = (protocol: TransportProtocol): { host: string; port: number } => {
    const configured = options.advertised?.[protocol];
    return configured ?? listeningAddress(stack, protocol);
  };

  // One Contact per transport, shared by every call and never changed: a held call refers to its
  // Contact from both dialogs, and a copy per call cost ~500 bytes.
  const contacts = new Map<TransportProtocol, NameAddr>();
  const contactFor = (protocol: TransportProtocol): NameAddr => {
    const known = contacts.get(protocol);
    if (known !== undefined) return known;
    const { host, port } = advertised(protocol);
    const params: Record<string, string | null> = protocol === "UDP" ? {} : { transport: protocol.toLowerCase() };
    const contact: NameAddr = { displayName: null, uri: { scheme: protocol === "TLS" ? "sips" : "sip", user: "trunkline", password: null, host, port, params, headers: [] }, params: {} };
    // Only once listening: before that, advertised() has no bound address to name.
    if (stack.transport.listening().length > 0 || options.advertised?.[protocol] !== undefined) contacts.set(protocol, contact);
    return contact;
  };

  const maxCallDurationMs = options.maxCallDurationMs ?? 4 * 3600 * 1000;
  const env: CallEnv = {
    stack,
    clock,
    media,
    channels,
    maxCallDurationMs,
    answeredCalls: new DelayQueue<Call>(clock, maxCallDurationMs, (call) => call.maxDurationReached()),
    sessionTimerSeconds: Math.max(minSe, options.sessionTimerSeconds ?? 1800),
    contactFor,
    bindLeg(callId, localTag, call, side) {
      const key = callId + " " + localTag;
      // Flattened (reading a character does it): the joined key would keep its pieces for the whole call.
      key.charCodeAt(0);
      legs.set(key, { call, side });
      deps.sipLadder?.link(callId, call.cdr.id, side);
      const keys = legKeys.get(call);
      if (keys === undefined) legKeys.set(call, [key]);
      else keys.push(key);
    },
    ended(call) {
      calls.delete(call);
      for (const key of legKeys.get(call) ?? []) legs.delete(key);
      legKeys.delete(call);
    },
    closeCdr(draft, callLog, finalMedia) {
      deps.sipLadder?.finish(draft.id);
      const write = (): Promise<void> => closeRecord(draft.record()).catch((error: unknown) => callLog.error({ err: error, cdr: draft.id }, "CDR close failed"));
      if (finalMedia === undefined) {
        track(write());
        return;
      }
      // A relay that never answers (a hung worker) must not hold the record back: the last pushed counts go.
      let grace: Timer | undefined;
      const graced = new Promise<void>((resolve) => {
        grace = clock.schedule(FINAL_MEDIA_GRACE_MS, resolve);
      });
      track(
        Promise.race([finalMedia, graced]).then(() => {
          grace?.cancel();
          return write();
        }),
      );
    },
  };

  const pipelineEnv: PipelineEnv = {
    clock,
    channels,
    bindings: deps.bindings,
    realm: options.realm,
    nonceSecret: options.nonceSecret,
    nonceCounts: new NonceCountTracker(),
    defaultTimeoutMs: options.inviteTimeoutMs ?? 5000,
    random: options.random ?? Math.random,
    forking: options.registrationForking ?? "parallel",
    isDown: (id) => deps.health?.isDown(id) ?? false,
    ...(deps.accountLock === undefined ? {} : { accountLock: deps.accountLock }),
    ourHost: (protocol) => {
      const a = advertised(protocol);
      return `${a.host}`;
    },
    aorsOf: (customer) => customer.identification.credentials.map((c) => `sip:${c.username}@${options.realm}`),
    fraud,
  };

  const warning = (text: string): HeaderField => ({ name: "Warning", value: `399 ${advertised("UDP").host} "${text.replace(/"/g, "'")}"` });

  const refusalHeaders = (r: Refusal): HeaderField[] => {
    const headers: HeaderField[] = [warning(r.warning), { name: "Reason", value: q850Reason(r.q850Cause) }];
    if (r.retryAfterSeconds !== undefined) headers.push({ name: "Retry-After", value: String(r.retryAfterSeconds) });
    return headers;
  };

  /** Writes the CDR of an INVITE that never became a Call (refused or cancelled), with its ladder. */
  const recordUnadmitted = (req: SipRequest, draft: CdrDraft, callLog: CallLog): void => {
    // Its ladder (challenge, retry, refusal) is kept with its record like a call's.
    deps.sipLadder?.link(req.callId, draft.id, "a");
    deps.sipLadder?.finish(draft.id);
    track(cdrs.open(draft.record()).then(() => closeRecord(draft.record())).catch((error: unknown) => callLog.error({ err: error, cdr: draft.id }, "CDR write failed")));
  };

  /** Answers a refused INVITE and writes its CDR (disposition refused). */
  const refuseCall = (req: SipRequest, tx: ServerTransaction, draft: CdrDraft, callLog: CallLog, r: Refusal, context: InboundContext, security?: string): void => {
    stack.respond(tx, stack.response(req, r.status, r.reasonPhrase, refusalHeaders(r)));
    if (security !== undefined) securityEvent(callLog.logger, { source: `${context.remote.address}:${context.remote.port}`, reason: security, detail: r.reason, callId: req.callId });
    if (security === "auth-failed") deps.onAuthFailure?.(context.remote.address, digestUsernameOf(req));
    else callLog.info({ status: r.status, kind: r.kind, reason: r.reason }, "call refused");
    draft.set({
      endedAt: clock.wallNow(),
      finalStatus: r.status,
      q850Cause: r.q850Cause,
      disposition: "refused",
      hangupBy: "system",
      endReason: r.reason,
    });
    draft.trace("end", "refuse", `refused with ${r.status} ${r.reasonPhrase}: ${r.warning}`, { status: r.status, q850: r.q850Cause });
    recordUnadmitted(req, draft, callLog);
  };

  const challenge = (req: SipRequest, tx: ServerTransaction, stale: boolean, reason: string, callLog: CallLog): void => {
    const values = createChallenge({
      realm: options.realm,
      secret: options.nonceSecret,
      now: clock.wallNow(),
      // MD5 first: many PBXs (and SIPp) answer only the first challenge they see; SHA-256 is offered too.
      algorithms: [...(options.digestAlgorithms ?? ["MD5", "SHA-256"])],
      stale,
    });
    const headers = values.map((value) => ({ name: "Proxy-Authenticate", value }));
    stack.respond(tx, stack.response(req, 407, undefined, headers));
    callLog.debug({ reason, stale }, "challenged");
  };

  const newCall = async (req: SipRequest, tx: ServerTransaction, context: InboundContext): Promise<void> => {
    if (stopping) {
      stack.respond(tx, stack.response(req, 503, undefined, [{ name: "Retry-After", value: "5" }]));
      return;
    }
    if (req.contact.length === 0) {
      // RFC 3261 8.1.1.8 asks every INVITE for a Contact, but RFC 2543-era clients (RFC 4475
      // 3.4.1) send none; where they sent from is where they listen, so that is their target.
      const host = context.remote.address.includes(":") ? `[${context.remote.address}]` : context.remote.address;
      const params: Record<string, string | null> = context.protocol === "UDP" ? {} : { transport: context.protocol.toLowerCase() };
      req.contact = [{ displayName: null, uri: { scheme: "sip", user: null, password: null, host, port: context.remote.port, params, headers: [] }, params: {} }];
    }
    if (req.maxForwards === 0) {
      stack.respond(tx, stack.response(req, 483));
      return;
    }
    const policy = deps.policy();
    const authHeader = getHeaders(req, "Proxy-Authorization")[0];
    let digestUsername: string | undefined;
    if (authHeader !== undefined) {
      const parsed = parseCredentials(authHeader);
      if (parsed.ok) digestUsername = parsed.value.username;
    }
    const decision = policy.identifier.identify({
      sourceAddress: context.remote.address,
      ...(digestUsername !== undefined ? { digestUsername } : {}),
      // Over TLS the client certificate goes along, for trunks that require mutual TLS.
      ...(context.tls !== undefined ? { clientCertificate: context.tls } : {}),
    });
    const trunk = decision.kind === "carrier" ? decision.carrier.id : decision.kind === "customer" ? decision.customer.id : null;
    const callLog = new CallLog(log, { callId: req.callId, trunk });
    if (decision.kind === "challenge") {
      challenge(req, tx, false, decision.reason, callLog);
      return;
    }
    const direction = decision.kind === "carrier" ? "inbound" : "outbound";
    const draft = new CdrDraft(() => clock.wallNow(), { callId: req.callId, direction, callerRaw: rawUser(req.from.uri), calleeRaw: rawUser(req.uri) });
    if (decision.kind === "refuse") {
      draft.trace("identify", "refuse", decision.refusal.reason);
      refuseCall(req, tx, draft, callLog, decision.refusal, context, decision.refusal.kind === "bad-credentials" ? "auth-failed" : "acl-denied");
      return;
    }
    // RFC 4028 5: a Session-Expires below our Min-SE gets 422 naming the floor.
    const se = sessionExpiresOf(req);
    if (se !== null && se.seconds < minSe) {
      stack.respond(tx, stack.response(req, 422, "Session Interval Too Small", [{ name: "Min-SE", value: String(minSe) }]));
      return;
    }
    const input = { request: req, context, policy, cdr: draft };
    let outcome: PipelineOutcome;
    try {
      outcome = decision.kind === "customer" ? await outboundPipeline(pipelineEnv, input, decision) : await inboundPipeline(pipelineEnv, input, decision);
    } catch (error) {
      callLog.error({ err: error }, "pipeline failed");
      if (tx.lastResponse === null || tx.lastResponse.status < 200) stack.respond(tx, stack.response(req, 500));
      return;
    }
    if (tx.cancelled) {
      // The caller gave up while we were deciding (the layer answered 487 when no handler was set yet).
      if (outcome.kind === "admit") for (const h of outcome.admitted.holds) h.release();
      draft.set({ endedAt: clock.wallNow(), disposition: "cancelled", hangupBy: "caller", endReason: "CANCEL before routing", finalStatus: 487, q850Cause: 16 });
      recordUnadmitted(req, draft, callLog);
      return;
    }
    if (outcome.kind === "challenge") {
      challenge(req, tx, outcome.stale, outcome.reason, callLog);
      return;
    }
    if (outcome.kind === "refuse") {
      refuseCall(req, tx, draft, callLog, outcome.refusal, context, outcome.security);
      return;
    }
    const call = new Call(env, callLog, draft, req, tx, context, outcome.admitted);
    calls.add(call);
    track(cdrs.open(draft.record()).catch((error: unknown) => callLog.error({ err: error }, "CDR open failed")));
    callLog.info({ direction, targets: outcome.admitted.targets.length }, "call admitted");
    call.start();
  };

  const findLeg = (req: SipRequest): { call: Call; side: Side } | undefined => {
    const tag = req.to.params["tag"];
    if (typeof tag !== "string") return undefined;
    return legs.get(req.callId + " " + tag);
  };

  stack.handle("INVITE", (req, tx, context) => {
    if (req.to.params["tag"] !== undefined) {
      const leg = findLeg(req);
      if (leg === undefined) stack.respond(tx, stack.response(req, 481));
      else leg.call.onRequest(leg.side, req, tx, referPolicy);
      return;
    }
    // Answered with 487 by the layer if a CANCEL lands before the Call takes over.
    tx.oncancel = null;
    void newCall(req, tx, context).catch((error: unknown) => {
      log.error({ err: error, callId: req.callId }, "new call failed");
      if (tx.lastResponse === null || tx.lastResponse.status < 200) stack.respond(tx, stack.response(req, 500));
    });
  });

  for (const method of IN_DIALOG_METHODS) {
    stack.handle(method, (req, tx) => {
      const leg = findLeg(req);
      if (leg !== undefined) {
        leg.call.onRequest(leg.side, req, tx, referPolicy);
        return;
      }
      log.debug({ callId: req.callId, method: req.method, toTag: req.to.params["tag"] ?? null }, "in-dialog request matches no call");
      const fallback = unhandledResponse(req, stack.capabilities());
      if (fallback !== null) stack.respond(tx, stack.response(req, fallback.status, fallback.reason, fallback.headers));
    });
  }

  stack.onAck((ack) => {
    const leg = findLeg(ack);
    if (leg !== undefined) leg.call.onAck(leg.side, ack);
  });

  const find = (id: string): Call | undefined => [...calls].find((c) => c.cdr.id === id || c.a.callId === id);

  return {
    activeCalls: () => [...calls].map((c) => c.summary()),
    channelUse: (trunkId) => channels.use(trunkId),
    hangup(id, reason) {
      const call = find(id);
      if (call === undefined) return false;
      call.end({ reason: reason ?? "hung up by operator", by: "system", status: 487, q850: 16 });
      return true;
    },
    async stop() {
      stopping = true;
      for (const call of [...calls]) call.end({ reason: "ended by shutdown", by: "system", status: 487, q850: 16, shutdown: true });
      await Promise.all([...pendingWrites]);
    },
  };
}
