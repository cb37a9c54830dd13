import {
  callCost,
  BILLING_1_1,
  q850FromReason,
  q850Reason,
  shouldFailover,
  sipToQ850,
  type AttemptOutcome,
  type Direction,
} from "../domain/index.ts";
import { newCallId, newTag, type Clock, type DelayQueue, type Timer } from "../lib/index.ts";
import {
  getHeaders,
  answerChallenge,
  buildAck,
  buildInDialogRequest,
  createRequest,
  Dialog,
  getHeader,
  pickChallenge,
  resolveTarget,
  routeRequest,
  serializeUri,
  withParam,
  type ClientTransaction,
  type ClientTransactionUser,
  type HeaderField,
  type InboundContext,
  type NameAddr,
  type SendTarget,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type SipStack,
  type SipUri,
  type Via,
} from "../sip/index.ts";
import type { CallLog } from "./call-log.ts";
import { dispositionOf, type CdrDraft } from "./cdr.ts";
import type { ChannelHold, ChannelTable } from "./channels.ts";
import { MediaAnchorError, type CallMediaPolicy, type MediaAnchor, type MediaAnchorEvent } from "./media-anchor.ts";
import type { TrunkMedia } from "../domain/index.ts";
import type { CallTarget } from "./target.ts";
import type { ActiveCall } from "./types.ts";
import { endToEndHeaders, hasOptionTag, outranks, sessionExpiresOf } from "./sip-rules.ts";

/** Which side of the call: `a` sent us the INVITE, `b` is the side we called. */
export type Side = "a" | "b";

/** How a call ended; one value per ending path, handed to Call.end(). */
export interface Ending {
  /** Readable reason for the CDR and logs, e.g. "BYE from caller". */
  readonly reason: string;
  readonly by: "caller" | "callee" | "system";
  /** Final status for A when it has none yet (487 on CANCEL, the carrier's failure, 503 on shutdown). */
  readonly status?: number;
  /** Reason phrase for that status. */
  readonly phrase?: string;
  /** Reason header value received (RFC 3326), carried to the other side and into the CDR cause. */
  readonly reasonHeader?: string;
  /** Q.850 cause when no Reason header gives it. */
  readonly q850?: number;
  /** Side that must not get a BYE because it sent one. */
  readonly byeFrom?: Side;
  readonly cancelled?: boolean;
  /** Ended by stop(): an unanswered call is recorded as interrupted. */
  readonly shutdown?: boolean;
  /** Extra headers on the final response to A (Warning, Retry-After). */
  readonly headers?: HeaderField[];
}

/** What every call shares: the stack, time, storage and settings. */
export interface CallEnv {
  readonly stack: SipStack;
  readonly clock: Clock;
  readonly media: MediaAnchor;
  readonly channels: ChannelTable;
  readonly maxCallDurationMs: number;
  /** Answered calls, each told maxDurationReached() maxCallDurationMs after its answer (one timer for all). */
  readonly answeredCalls: DelayQueue<Call>;
  readonly sessionTimerSeconds: number;
  /** Our Contact for a transport. */
  contactFor(protocol: SendTarget["protocol"]): NameAddr;
  /** Indexes a leg so in-dialog requests and ACKs find the call: key is Call-ID and our tag. */
  bindLeg(callId: string, localTag: string, call: Call, side: Side): void;
  /** Told once when a call has ended, after its CDR close was started. */
  ended(call: Call): void;
  /** Writes the closed CDR, once `finalMedia` (the media's last counts) has settled or a short grace has passed; never throws. */
  closeCdr(draft: CdrDraft, log: CallLog, finalMedia?: Promise<void>): void;
}

/** The A leg: the INVITE we serve and the dialog with the caller. */
interface ALeg {
  /** Until the final response to it: then only the dialog is needed, and a held call should not keep the whole message. */
  invite: SipRequest | null;
  readonly callId: string;
  /** The INVITE came without an SDP offer (late offer: the answer will come in the caller's ACK). */
  readonly offerless: boolean;
  /** Until the final response to the INVITE: the transaction lives on (Timer L) without us needing it. */
  tx: ServerTransaction | null;
  readonly context: InboundContext;
  /** Requests to the caller go back where it sent from (symmetric signalling survives NAT). */
  readonly flow: SendTarget;
  readonly tag: string;
  readonly contact: NameAddr;
  dialog: Dialog | null;
  finalSent: boolean;
  readonly supports100rel: boolean;
  readonly supportsTimer: boolean;
}

/** One INVITE attempt on the B side. */
interface Attempt {
  readonly target: CallTarget;
  invite: SipRequest;
  tx: ClientTransaction | null;
  readonly callId: string;
  readonly fromTag: string;
  readonly cdrIndex: number;
  send: SendTarget;
  dialog: Dialog | null;
  hold: ChannelHold | null;
  timer: Timer | null;
  gotResponse: boolean;
  abandoned: boolean;
  authAnswered: boolean;
  /**
   * The ACK sent for the answered 2xx, as what rebuilds it for a 2xx retransmission: its Via (same
   * branch) and, for a late offer, its body. A held call keeps only these, not the whole ACK.
   */
  ackSent: { readonly via: Via; readonly body: Buffer; readonly contentType: string | null } | null;
}

/** A 2xx we retransmit to a leg until its ACK (RFC 3261 13.3.1.4), and what to do with that ACK. */
interface PendingAck {
  readonly cseq: number;
  readonly response: SipResponse;
  readonly context: InboundContext;
  timer: Timer | null;
  interval: number;
  readonly startedAt: number;
  /** Late offer: the ACK's body is the answer to relay in the other leg's ACK. */
  readonly relay: { readonly dialog: Dialog; readonly invite: SipRequest; readonly send: SendTarget } | null;
}

/** What the pipeline hands the B2BUA once the call is admitted. */
export interface Admitted {
  readonly direction: Direction;
  readonly customerId: string;
  readonly holds: ChannelHold[];
  readonly targets: CallTarget[];
  /** Targets to try once the first list is used up (inbound forward-to number). */
  readonly more?: () => CallTarget[];
  /** Media settings of the trunk the call came from (customer outbound, carrier inbound). */
  readonly aMedia?: TrunkMedia;
  /** Media settings of the B side when it is not a carrier target (the customer of an inbound call). */
  readonly bMedia?: TrunkMedia;
}

const NO_BODY = Buffer.alloc(0);
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization"]);

/**
 * An answered INVITE without its body and without the headers an ACK does not copy (RFC 3261
 * 13.2.2.4: the ACK carries the INVITE's CSeq number and credentials; a dialog is built from its
 * From, To, Call-ID, CSeq and Contact). A held call keeps this for its whole life.
 */
function ackBasis(invite: SipRequest): SipRequest {
  // No Via either: an ACK for a 2xx is a transaction of its own with a fresh branch (17.1.1.3).
  return { ...invite, via: [], headers: invite.headers.filter((h) => CREDENTIAL_HEADERS.has(h.name.toLowerCase())), body: NO_BODY, contentType: null };
}

function sideName(side: Side): "caller" | "callee" {
  return side === "a" ? "caller" : "callee";
}

function other(side: Side): Side {
  return side === "a" ? "b" : "a";
}

/**
 * One call through the B2BUA: the A leg we serve, the B attempts we make in order with failover,
 * the dialogs once answered, and the single idempotent end() every ending path goes through.
 */
export class Call {
  state: "trying" | "early" | "answered" | "ended" = "trying";
  readonly a: ALeg;
  /** The B side we talk to in dialog: the answered attempt, or the one whose provisional we relayed last. */
  private attempt: Attempt | null = null;
  /** Attempts whose INVITE is pending (several at once when forking in parallel). */
  private active: Attempt[] = [];
  /** The A leg's INVITE transaction until the call ends, when its callbacks (which hold the call) are cleared. */
  private aTransaction: ServerTransaction | null = null;
  /** The transaction user of every B-leg INVITE sent, let go of the call when it ends. */
  private attemptUsers: AttemptUser[] = [];
  /** What a B-leg 2xx is answered with, also after the call ended (shared by its AttemptUsers). */
  private readonly lateAnswers: LateAnswers;
  /** Attempts of the current batch still being set up (resolving, taking a channel). */
  private launching = 0;
  /** The outcome that speaks for the current batch once all of it failed (RFC 3261 16.7 style choice). */
  private batchBest: { target: CallTarget; outcome: AttemptOutcome; res: SipResponse | null } | null = null;
  private readonly targets: CallTarget[];
  private moreUsed = false;
  private holds: ChannelHold[];
  private lastFailure: SipResponse | null = null;
  private lastOutcome: AttemptOutcome | null = null;
  private readonly timers: Timer[] = [];
  private sessionTimer: Timer | null = null;
  private readonly pendingAck: Record<Side, PendingAck | null> = { a: null, b: null };
  /** Reliable provisionals relayed to A: our RSeq -> the B side's RSeq and CSeq (RFC 3262 end to end). */
  private rseqMap: Map<number, { rseq: string; cseq: number; attempt: Attempt }> | null = null;
  private nextRseq = 1;
  private answeredMonotonic = 0;
  private answeredTarget: CallTarget | null = null;

  constructor(
    private readonly env: CallEnv,
    readonly log: CallLog,
    readonly cdr: CdrDraft,
    invite: SipRequest,
    tx: ServerTransaction,
    context: InboundContext,
    private readonly admitted: Admitted,
  ) {
    this.a = {
      invite,
      callId: invite.callId,
      offerless: invite.body.length === 0,
      tx,
      context,
      flow: { protocol: context.protocol, remote: context.remote, connectionId: context.connectionId },
      tag: newTag(),
      contact: env.contactFor(context.protocol),
      dialog: null,
      finalSent: false,
      supports100rel: hasOptionTag(invite, "Supported", "100rel") || hasOptionTag(invite, "Require", "100rel"),
      supportsTimer: hasOptionTag(invite, "Supported", "timer"),
    };
    this.targets = [...admitted.targets];
    this.holds = [...admitted.holds];
    env.bindLeg(invite.callId, this.a.tag, this, "a");
    tx.oncancel = (cancel) => {
      const reasonHeader = getHeader(cancel, "Reason");
      this.end({ reason: "CANCEL from caller", by: "caller", status: 487, cancelled: true, ...(reasonHeader !== undefined ? { reasonHeader } : {}) });
    };
    tx.onfailure = (failure) => {
      if (this.state !== "answered") this.end({ reason: `A-leg transaction failed (${failure.code})`, by: "system", status: 500, q850: 41 });
    };
    this.aTransaction = tx;
    this.lateAnswers = { transactions: env.stack.transactions, log };
  }

  /** The call as the API lists it. */
  summary(): ActiveCall {
    return {
      id: this.cdr.id,
      callId: this.a.callId,
      direction: this.admitted.direction,
      customerId: this.cdr.get("customerId") ?? null,
      carrierId: this.cdr.get("carrierId") ?? null,
      state: this.state === "ended" ? "answered" : this.state,
      startedAt: this.cdr.get("startedAt") ?? 0,
      answeredAt: this.cdr.get("answeredAt") ?? null,
    };
  }

  /** The A leg's INVITE, which every caller of this uses before the final response to it. */
  private inviteA(): SipRequest {
    if (this.a.invite === null) throw new Error("A-leg INVITE used after its final response");
    return this.a.invite;
  }

  /** True once end() ran (a method, so checks after an await are not narrowed away). */
  isEnded(): boolean {
    return this.state === "ended";
  }

  /** Anchors the caller's offer, then starts the first attempt. */
  start(): void {
    void this.begin();
  }

  private offer: Buffer | null = null;

  private async begin(): Promise<void> {
    const body = this.inviteA().body;
    // The B trunk's media settings are those of the first target's carrier (or the inbound customer's).
    const bMedia = this.targets[0]?.carrier?.media ?? this.admitted.bMedia;
    const policy = { ...(this.admitted.aMedia !== undefined ? { a: this.admitted.aMedia } : {}), ...(bMedia !== undefined ? { b: bMedia } : {}) };
    this.mediaPolicy = policy;
    if (body.length > 0) {
      try {
        this.offer = await this.env.media.offer(this.cdr.id, "a", body, policy);
      } catch (error) {
        this.mediaRefused(error);
        return;
      }
    }
    this.unlistenMedia = this.env.media.listen(this.cdr.id, (event) => this.onMediaEvent(event));
    await this.tryNext();
  }

  private unlistenMedia: (() => void) | null = null;
  private mediaPolicy: CallMediaPolicy = {};

  /** Ends the call the anchor could not anchor: 488 with the relay's Warning, or 503. */
  private mediaRefused(error: unknown): void {
    if (error instanceof MediaAnchorError && error.status === 488) {
      this.log.info({ reason: error.message }, "media not acceptable");
      this.cdr.trace("media", "refuse", error.message);
      this.end({ reason: `media not acceptable: ${error.message}`, by: "system", status: 488, phrase: "Not Acceptable Here", q850: 58, ...(error.warning !== undefined ? { headers: [{ name: "Warning", value: error.warning }] } : {}) });
      return;
    }
    this.log.error({ err: error }, "media anchor refused the offer");
    this.end({ reason: error instanceof MediaAnchorError ? `media unavailable: ${error.message}` : "media anchor failed", by: "system", status: 503, q850: 47 });
  }

  /** Media events of the call: supervision timeout, one-way audio, digits to send as SIP INFO. */
  private onMediaEvent(event: MediaAnchorEvent): void {
    if (event.type === "media-failed") {
      // Before or after the answer: a call whose media cannot flow would only hold its channels.
      this.log.error({ reason: event.reason }, "media failed: ending the call");
      this.cdr.trace("media", "error", `media failed: ${event.reason}`);
      this.end({ reason: `media failed: ${event.reason}`, by: "system", status: 503, q850: 41 });
      return;
    }
    if (this.state !== "answered") return;
    if (event.type === "media-timeout") {
      this.end({ reason: `media timeout (${Math.round(event.idleMs / 1000)} s without RTP)`, by: "system", q850: 102 });
      return;
    }
    if (event.type === "one-way-audio") {
      // Not a reason to hang up (the silent side may only be listening), but what an operator asks first about "no audio".
      const silent = sideName(event.silentLeg);
      this.log.warn({ silentLeg: silent, afterMs: event.afterMs, stream: event.stream }, "one-way audio");
      this.cdr.trace("media", "info", `one-way audio: no RTP from the ${silent} ${Math.round(event.afterMs / 1000)} s after answer while the ${sideName(other(event.silentLeg))} sends`, { silentLeg: silent, afterMs: event.afterMs });
      return;
    }
    const dialog = this.legDialog(event.toLeg);
    void this.targetOf(event.toLeg).then((target) => {
      if (dialog === null || target === null || this.state !== "answered") return;
      const info = buildInDialogRequest(dialog, "INFO", {
        body: Buffer.from(`Signal=${event.digit}\r\nDuration=${event.durationMs}\r\n`, "utf8"),
        contentType: "application/dtmf-relay",
      });
      this.env.stack.transactions.sendRequest(info, target, { onFinal: () => {} });
    });
  }

  // ------------------------------------------------------------------ attempts

  private nextTarget(): CallTarget | undefined {
    if (this.targets.length === 0 && !this.moreUsed && this.admitted.more !== undefined) {
      this.moreUsed = true;
      const more = this.admitted.more();
      this.cdr.trace("forward", more.length > 0 ? "info" : "refuse", more.length > 0 ? `every target failed; ${more.length} forward target(s) next` : "forward number has no usable route");
      this.targets.push(...more);
    }
    return this.targets.shift();
  }

  /** Starts the next target, or every target of its parallel-forking group at once. */
  private async tryNext(): Promise<void> {
    if (this.state === "ended") return;
    const first = this.nextTarget();
    if (first === undefined) {
      this.failCall();
      return;
    }
    // Each attempt gets an offer built for its own trunk's media settings (codecs, SRTP, DTMF).
    if (!(await this.offerFor(first))) return;
    const batch = [first];
    while (first.group !== undefined && this.targets[0]?.group === first.group) batch.push(this.targets.shift() as CallTarget);
    if (batch.length > 1) this.cdr.trace("fork", "info", `${batch.length} targets rung in parallel (${first.group})`);
    this.launching += batch.length;
    this.batchBest = null;
    for (const target of batch) void this.launch(target);
  }

  /** True after a failed re-offer: the anchor may have let go of the previous one. */
  private offerStale = false;

  /**
   * Re-anchors the caller's offer when `target`'s trunk has other media settings than the previous
   * attempt's (failover to a carrier with other codecs, SRTP or DTMF). False when the call ended
   * meanwhile or the target cannot take this media (then the next target has been started).
   */
  private async offerFor(target: CallTarget): Promise<boolean> {
    const bMedia = target.carrier?.media ?? this.admitted.bMedia;
    if (!this.offerStale && JSON.stringify(bMedia) === JSON.stringify(this.mediaPolicy.b)) return true;
    const policy = { ...(this.admitted.aMedia !== undefined ? { a: this.admitted.aMedia } : {}), ...(bMedia !== undefined ? { b: bMedia } : {}) };
    this.mediaPolicy = policy;
    const body = this.a.invite?.body;
    // Late offer: the policy applies when the 2xx brings the callee's offer.
    if (body === undefined || body.length === 0) return true;
    try {
      this.offer = await this.env.media.reoffer(this.cdr.id, body, policy);
      this.offerStale = false;
    } catch (error) {
      this.offerStale = true;
      if (this.isEnded()) return false;
      this.log.info({ err: error, target: target.label }, "media not acceptable for target; skipped");
      this.cdr.trace("media", "refuse", `skip ${target.label}: ${error instanceof Error ? error.message : "media refused"}`);
      void this.tryNext();
      return false;
    }
    return !this.isEnded() && !this.a.finalSent;
  }

  private async launch(target: CallTarget): Promise<void> {
    // The label names the target in the trace and the CDR for the whole call: one flat string
    // (reading a character flattens it) rather than the pieces it was joined from.
    target.label.charCodeAt(0);
    let hold: ChannelHold | null = null;
    if (target.carrier !== null) {
      const taken = this.env.channels.take(target.carrier, "outbound");
      if (taken.kind === "refuse") {
        this.cdr.trace("attempt", "refuse", `skip ${target.label}: ${taken.refusal.reason}`);
        this.launching--;
        this.batchSettled();
        return;
      }
      hold = taken.hold;
    }
    let send = target.flow;
    if (send === null) {
      try {
        send = (await resolveTarget(target.requestUri))[0] ?? null;
      } catch (error) {
        this.log.info({ err: error, target: target.label }, "target did not resolve");
      }
      // Answered or refused meanwhile: the A leg has its final response, nothing more to try.
      if (this.isEnded() || this.a.finalSent) {
        hold?.release();
        this.launching--;
        return;
      }
    }
    const callId = newCallId();
    const fromTag = newTag();
    const cdrIndex = this.cdr.attemptStart(target.label, target.carrier?.id ?? null, target.gatewayId);
    if (send === null) {
      hold?.release();
      this.cdr.attemptEnd(cdrIndex, "transport-error", null);
      this.launching--;
      this.attemptFailed(null, target, { kind: "transport-error", detail: "target did not resolve" }, null);
      return;
    }
    const invite = this.buildInvite(target, callId, fromTag, send);
    const attempt: Attempt = {
      target, invite, tx: null, callId, fromTag, cdrIndex, send, dialog: null, hold, timer: null,
      gotResponse: false, abandoned: false, authAnswered: false, ackSent: null,
    };
    this.launching--;
    this.active.push(attempt);
    if (this.admitted.direction === "outbound" && target.carrier !== null) this.cdr.set({ carrierId: target.carrier.id });
    this.env.bindLeg(callId, fromTag, this, "b");
    this.cdr.trace("attempt", "info", `INVITE to ${target.label}`, { target: target.label, gateway: target.gatewayId, carrier: target.carrier?.id ?? null });
    this.log.info({ target: target.label }, "attempt started");
    this.sendInvite(attempt);
    const timeoutMs = target.failover.timeoutMs;
    attempt.timer = this.env.clock.schedule(timeoutMs, () => {
      if (attempt.gotResponse || attempt.abandoned || this.state === "ended") return;
      // No provisional yet: the CANCEL stays queued in the transaction until one arrives (RFC 3261 9.1).
      attempt.abandoned = true;
      if (attempt.tx !== null) this.env.stack.transactions.cancel(attempt.tx);
      attempt.hold?.release();
      this.cdr.attemptEnd(attempt.cdrIndex, "timeout", null);
      this.attemptFailed(attempt, target, { kind: "timeout" }, null);
    });
  }

  private buildInvite(target: CallTarget, callId: string, fromTag: string, send: SendTarget): SipRequest {
    const a = this.inviteA();
    const headers: HeaderField[] = endToEndHeaders(a).filter((h) => h.name.toLowerCase() !== "session-expires" && h.name.toLowerCase() !== "min-se");
    // Timers are negotiated end to end; we only ask for them where the caller can refresh (RFC 4028 8.1).
    const se = getHeader(a, "Session-Expires");
    if (se !== undefined) {
      headers.push({ name: "Session-Expires", value: se });
      const minSe = getHeader(a, "Min-SE");
      if (minSe !== undefined) headers.push({ name: "Min-SE", value: minSe });
    } else if (this.a.supportsTimer) {
      headers.push({ name: "Session-Expires", value: String(this.env.sessionTimerSeconds) });
    }
    headers.push({ name: "Supported", value: this.a.supportsTimer ? "100rel, timer" : "100rel" });
    const from: NameAddr = { displayName: target.from.displayName, uri: target.from.uri, params: { ...target.from.params, tag: fromTag } };
    return createRequest({
      method: "INVITE",
      uri: target.requestUri,
      from,
      to: { displayName: target.to.displayName, uri: target.to.uri, params: {} },
      callId,
      cseq: 1,
      contact: [this.env.contactFor(send.protocol)],
      maxForwards: Math.max(0, (a.maxForwards ?? 70) - 1),
      contentType: a.body.length > 0 ? a.contentType : null,
      headers,
      body: this.offer ?? a.body,
    });
  }

  private sendInvite(attempt: Attempt): void {
    const user = new AttemptUser(this, attempt, this.lateAnswers);
    this.attemptUsers.push(user);
    try {
      attempt.tx = this.env.stack.transactions.sendRequest(attempt.invite, attempt.send, user);
    } catch (error) {
      this.log.error({ err: error, target: attempt.target.label }, "B-leg INVITE could not be sent");
      attempt.abandoned = true;
      attempt.timer?.cancel();
      attempt.hold?.release();
      this.cdr.attemptEnd(attempt.cdrIndex, "transport-error", null);
      this.attemptFailed(attempt, attempt.target, { kind: "transport-error", detail: "send failed" }, null);
    }
  }

  /** Transaction-user input of an attempt (through AttemptUser). */
  onProvisional(attempt: Attempt, res: SipResponse): void {
    attempt.gotResponse = true;
    if (attempt.abandoned || this.state === "ended" || !this.active.includes(attempt)) return;
    if (res.status === 100) return;
    if (res.to.params["tag"] && res.contact.length > 0) {
      if (attempt.dialog === null || attempt.dialog.id.remoteTag !== res.to.params["tag"]) {
        const d = Dialog.asUac(attempt.invite, res);
        if (d.ok) attempt.dialog = d.value;
      } else {
        attempt.dialog.receiveResponse(attempt.invite, res);
      }
    }
    if (this.cdr.get("ringingAt") === null) this.cdr.set({ ringingAt: this.env.clock.wallNow() });
    this.cdr.trace("attempt", "info", `${res.status} ${res.reason} from ${attempt.target.label}`, { status: res.status });
    this.state = "early";
    this.attempt = attempt;
    const reliable = hasOptionTag(res, "Require", "100rel") && getHeader(res, "RSeq") !== undefined;
    const headers = endToEndHeaders(res);
    if (reliable && this.a.supports100rel) {
      const rseq = this.nextRseq++;
      // Made on the first reliable provisional: most calls have none, and a held call would keep an empty Map.
      this.rseqMap ??= new Map();
      this.rseqMap.set(rseq, { rseq: (getHeader(res, "RSeq") ?? "").trim(), cseq: attempt.invite.cseq.seq, attempt });
      headers.push({ name: "Require", value: "100rel" }, { name: "RSeq", value: String(rseq) });
      void this.relayToA(res.status, res.reason, res, headers).then((sent) => {
        if (sent !== null) this.retransmitReliable(rseq, sent);
      });
      return;
    }
    if (reliable) {
      // The caller cannot PRACK: we acknowledge the carrier's reliable provisional ourselves (RFC 3262 4).
      this.prackB(attempt, res);
    }
    void this.relayToA(res.status, res.reason, res, headers);
  }

  private async relayToA(status: number, phrase: string, res: SipResponse, headers: HeaderField[]): Promise<SipResponse | null> {
    let body = res.body;
    if (body.length > 0) body = await this.anchoredOr(body, this.env.media.answer(this.cdr.id, "b", body), `a ${res.status}`);
    if (this.isEnded() || this.a.finalSent) return null;
    return this.respondA(status, phrase, headers, body, res.contentType);
  }

  /** RFC 3262 3: a reliable provisional is resent from T1, doubling, until its PRACK or 64*T1. */
  private retransmitReliable(rseq: number, res: SipResponse): void {
    const t1 = this.env.stack.transactions.timers.t1;
    let interval = t1;
    let elapsed = 0;
    const tick = (): void => {
      if (this.rseqMap?.has(rseq) !== true || this.a.finalSent || this.isEnded()) return;
      elapsed += interval;
      if (elapsed >= 64 * t1) {
        // The RFC lets us reject the INVITE here; the callee may still answer, so we only stop resending.
        this.log.info({ rseq }, "reliable provisional never PRACKed");
        return;
      }
      // A failed resend is retried on the next tick; the last word is the PRACK timeout above.
      this.env.stack.transactions.sendStatelessResponse(res, this.a.context).catch((error: unknown) => this.log.debug({ err: error, rseq }, "reliable provisional resend failed"));
      interval *= 2;
      this.timers.push(this.env.clock.schedule(interval, tick));
    };
    this.timers.push(this.env.clock.schedule(interval, tick));
  }

  private prackB(attempt: Attempt, res: SipResponse): void {
    if (attempt.dialog === null) return;
    const rack = `${(getHeader(res, "RSeq") ?? "").trim()} ${res.cseq.seq} ${res.cseq.method}`;
    const prack = buildInDialogRequest(attempt.dialog, "PRACK", { headers: [{ name: "RAck", value: rack }] });
    this.env.stack.transactions.sendRequest(prack, attempt.send, { onFinal: () => {} });
  }

  /** Transaction-user input of an attempt (through AttemptUser). */
  onFinal(attempt: Attempt, res: SipResponse, _tx: ClientTransaction, source: "network" | "timeout" | "transport"): void {
    attempt.gotResponse = true;
    attempt.timer?.cancel();
    // A cancelled timer still holds its callback and what that closes over; a held call drops it.
    attempt.timer = null;
    const ok2xx = res.status >= 200 && res.status < 300;
    if (attempt.abandoned || this.state === "ended" || !this.active.includes(attempt)) {
      // A late answer to an attempt we gave up on (timeout, CANCEL race): it must not stay up unbilled.
      if (ok2xx) ackAndBye(this.lateAnswers, attempt, res, this.state === "ended" ? "Call ended" : "Attempt abandoned");
      return;
    }
    if (ok2xx) {
      void this.answered(attempt, res);
      return;
    }
    if ((res.status === 401 || res.status === 407) && !attempt.authAnswered && attempt.target.credentials !== undefined && source === "network") {
      if (this.answerCarrierChallenge(attempt, res)) return;
    }
    attempt.hold?.release();
    const outcome: AttemptOutcome =
      source === "transport" ? { kind: "transport-error", detail: attempt.tx?.transportError?.code ?? "transport" } : source === "timeout" ? { kind: "timeout" } : { kind: "response", status: res.status };
    this.cdr.attemptEnd(attempt.cdrIndex, source === "network" ? "response" : source === "timeout" ? "timeout" : "transport-error", res.status);
    this.attemptFailed(attempt, attempt.target, outcome, res);
  }

  /** RFC 3261 22.2: re-sends the INVITE once with credentials for the carrier's challenge. */
  private answerCarrierChallenge(attempt: Attempt, res: SipResponse): boolean {
    const creds = attempt.target.credentials;
    if (creds === undefined || creds.password === undefined) return false;
    const header = res.status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate";
    const challenge = pickChallenge(getHeaders(res, header));
    if (challenge === undefined) return false;
    let value: string;
    try {
      value = answerChallenge({ challenge, method: "INVITE", uri: serializeUri(attempt.invite.uri), username: creds.username, password: creds.password });
    } catch (error) {
      this.log.warn({ err: error, target: attempt.target.label }, "carrier challenge cannot be answered");
      return false;
    }
    attempt.authAnswered = true;
    this.cdr.trace("attempt", "info", `${res.status} challenge from ${attempt.target.label} answered as ${creds.username}`, { status: res.status });
    const invite: SipRequest = {
      ...attempt.invite,
      via: [],
      cseq: { seq: attempt.invite.cseq.seq + 1, method: "INVITE" },
      headers: [...attempt.invite.headers, { name: res.status === 401 ? "Authorization" : "Proxy-Authorization", value }],
    };
    attempt.invite = invite;
    attempt.gotResponse = false;
    attempt.timer = this.env.clock.schedule(attempt.target.failover.timeoutMs, () => {
      if (attempt.gotResponse || attempt.abandoned || this.state === "ended") return;
      attempt.abandoned = true;
      if (attempt.tx !== null) this.env.stack.transactions.cancel(attempt.tx);
      attempt.hold?.release();
      this.cdr.attemptEnd(attempt.cdrIndex, "timeout", null);
      this.attemptFailed(attempt, attempt.target, { kind: "timeout" }, null);
    });
    this.sendInvite(attempt);
    return true;
  }

  /** One attempt failed; once its whole batch has, the outcome that speaks for it decides failover. */
  private attemptFailed(attempt: Attempt | null, target: CallTarget, outcome: AttemptOutcome, res: SipResponse | null): void {
    if (this.state === "ended") return;
    if (attempt !== null) this.active = this.active.filter((x) => x !== attempt);
    if (this.attempt === attempt) this.attempt = null;
    if (this.batchBest === null || outranks(outcome, this.batchBest.outcome)) this.batchBest = { target, outcome, res };
    this.batchSettled();
  }

  /** Moves on when nothing of the current batch is pending any more. */
  private batchSettled(): void {
    if (this.state === "ended" || this.launching > 0 || this.active.length > 0) return;
    const best = this.batchBest;
    this.batchBest = null;
    if (best === null) {
      // Every target of the batch was skipped (carrier full): nothing was tried, so simply go on.
      void this.tryNext();
      return;
    }
    const { target, outcome, res } = best;
    if (res !== null) this.lastFailure = res;
    this.lastOutcome = outcome;
    const decision = shouldFailover({ failover: target.failover }, outcome);
    this.cdr.trace("failover", decision.failover ? "pass" : "refuse", `${target.label}: ${decision.reason}; ${decision.failover ? "trying next target" : "no failover"}`, {
      outcome: outcome.kind,
      status: outcome.kind === "response" ? outcome.status : null,
    });
    this.log.info({ target: target.label, outcome: outcome.kind, failover: decision.failover }, "attempt failed");
    if (decision.failover) void this.tryNext();
    else this.failCall();
  }

  /** Every target failed or one failed definitely: the caller gets the last answer (or 408/503 when there was none). */
  private failCall(): void {
    const res = this.lastFailure;
    const outcome = this.lastOutcome;
    let status = res?.status ?? (outcome?.kind === "timeout" ? 408 : 503);
    if (status === 401 || status === 407) status = 503; // the carrier's challenge is not the caller's to answer
    const reasonHeader = res !== null ? getHeader(res, "Reason") : undefined;
    const headers: HeaderField[] = res !== null ? endToEndHeaders(res).filter((h) => h.name.toLowerCase() !== "reason") : [];
    this.end({
      reason: res !== null ? `attempts ended with ${res.status} ${res.reason}` : outcome !== null ? `attempts ended with ${outcome.kind}` : "no target to try",
      by: res !== null ? "callee" : "system",
      status,
      ...(res !== null && status === res.status ? { phrase: res.reason } : {}),
      ...(reasonHeader !== undefined ? { reasonHeader } : {}),
      headers,
    });
  }

  private async answered(attempt: Attempt, res: SipResponse): Promise<void> {
    // First 2xx wins; the other forks are cancelled as completed elsewhere (RFC 3326).
    for (const other of this.active) {
      if (other === attempt) continue;
      other.abandoned = true;
      other.timer?.cancel();
      if (other.tx !== null) this.env.stack.transactions.cancel(other.tx, { reason: 'SIP;cause=200;text="Call completed elsewhere"' });
      other.hold?.release();
      this.cdr.attemptEnd(other.cdrIndex, "cancelled", null);
    }
    this.active = [];
    this.attempt = attempt;
    // Answered: nothing cancels this INVITE any more, and its transaction (Timer M) reaches us
    // through AttemptUser, so the attempt need not keep it for the rest of the call.
    attempt.tx = null;
    if (attempt.dialog !== null && attempt.dialog.id.remoteTag === res.to.params["tag"]) {
      attempt.dialog.receiveResponse(attempt.invite, res);
    } else {
      const d = Dialog.asUac(attempt.invite, res);
      if (!d.ok) {
        this.log.warn({ code: d.error.code, target: attempt.target.label }, "2xx does not make a dialog");
        ackAndBye(this.lateAnswers, attempt, res, "Bad 2xx");
        attempt.hold?.release();
        this.cdr.attemptEnd(attempt.cdrIndex, "response", 502);
        this.end({ reason: `unusable 2xx from ${attempt.target.label}: ${d.error.detail}`, by: "system", status: 502 });
        return;
      }
      attempt.dialog = d.value;
    }
    this.state = "answered";
    this.answeredMonotonic = this.env.clock.now();
    this.answeredTarget = attempt.target;
    // A copy of exact length: push would leave room for 16 more on a call that may be held for hours.
    if (attempt.hold !== null) this.holds = this.holds.concat(attempt.hold);
    this.cdr.attemptEnd(attempt.cdrIndex, "answered", res.status);
    // An outbound call's carrier is the one that answered; an inbound call keeps the carrier it came from.
    this.cdr.set({ answeredAt: this.env.clock.wallNow(), finalStatus: res.status, ...(this.admitted.direction === "outbound" && attempt.target.carrier !== null ? { carrierId: attempt.target.carrier.id } : {}) });
    this.cdr.trace("answer", "pass", `${res.status} ${res.reason} from ${attempt.target.label}`, { status: res.status });
    this.cdr.compact();
    this.log.info({ target: attempt.target.label }, "call answered");
    // With the offer in the INVITE the ACK carries nothing, so we ACK at once and the callee stops
    // retransmitting whatever the caller does; a late offer waits for the caller's ACK and its answer.
    const lateOffer = this.a.offerless;
    if (!lateOffer) this.ackB(attempt, null);
    this.env.answeredCalls.add(this);
    const headers = endToEndHeaders(res).filter((h) => h.name.toLowerCase() !== "session-expires");
    const se = sessionExpiresOf(res);
    if (se !== null) {
      headers.push({ name: "Session-Expires", value: `${se.seconds}${se.refresher !== null ? `;refresher=${se.refresher}` : ""}` });
      if (hasOptionTag(res, "Require", "timer")) headers.push({ name: "Require", value: "timer" });
      this.armSessionTimer(se.seconds);
    } else if (this.a.supportsTimer && getHeader(attempt.invite, "Session-Expires") !== undefined) {
      // RFC 4028 8.2: the callee ignored timers; the caller, who supports them, becomes the refresher.
      const seconds = Number.parseInt(getHeader(attempt.invite, "Session-Expires") ?? "", 10);
      if (seconds > 0) {
        headers.push({ name: "Session-Expires", value: `${seconds};refresher=uac` }, { name: "Require", value: "timer" });
        this.armSessionTimer(seconds);
      }
    }
    let body = res.body;
    // Late offer: the 2xx carries the callee's offer (anchored now), the caller's ACK the answer.
    if (body.length > 0) {
      body = await this.anchoredOr(body, lateOffer ? this.env.media.offer(this.cdr.id, "b", body, this.mediaPolicy) : this.env.media.answer(this.cdr.id, "b", body), "the 2xx");
    }
    if (this.isEnded()) return;
    this.env.media.started(this.cdr.id);
    const response = this.respondA(res.status, res.reason, headers, body, res.contentType);
    // No attempt follows an answer: the offer goes, and the INVITE keeps only what an ACK (to a
    // 2xx retransmission, to another fork's 2xx, or relaying a late answer) is built from.
    this.offer = null;
    attempt.invite = ackBasis(attempt.invite);
    if (response !== null) {
      this.expectAck("a", response, this.a.context, lateOffer && attempt.dialog !== null ? { dialog: attempt.dialog, invite: attempt.invite, send: attempt.send } : null);
    }
  }

  /**
   * The body as the media anchor rewrote it, or as it came when the anchor fails (logged): the
   * message still goes through, with media direct rather than the call lost.
   */
  private anchoredOr(body: Buffer, anchoring: Promise<Buffer>, what: string): Promise<Buffer> {
    return anchoring.catch((error: unknown) => {
      this.log.warn({ err: error }, `media anchor failed on ${what}; its SDP passes as it is`);
      return body;
    });
  }

  private ackB(attempt: Attempt, body: Buffer | null, contentType?: string | null): void {
    if (attempt.dialog === null) return;
    const ack = buildAck(attempt.dialog, attempt.invite, body !== null && body.length > 0 ? { body, contentType: contentType ?? "application/sdp" } : {});
    this.sendAckB(attempt, ack, attempt.send).catch((error: unknown) => this.ackFailed(error, "b", attempt));
  }

  /**
   * A 2xx could not be acknowledged on one leg (its transport is gone, as a TCP peer that closed
   * and no longer listens): that side will stop retransmitting and hang up on its own (RFC 3261
   * 13.3.1.4), so the call ends here on both legs now instead of holding its channels. `attempt`:
   * the B-leg attempt the ACK was for, when it may no longer be the call's.
   */
  private ackFailed(error: unknown, to: Side, attempt: Attempt | null = this.attempt): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.attempt !== attempt || this.isEnded()) {
      this.log.warn({ err: error, side: to }, "ACK not sent");
      return;
    }
    this.log.warn({ err: error, side: to }, "ACK not sent: ending the call");
    const party = to === "b" ? "callee" : "caller";
    this.cdr.trace("attempt", "error", `ACK to the ${party}${to === "b" && attempt !== null ? ` (${attempt.target.label})` : ""} not sent: ${message}`);
    this.end({ reason: `ACK to the ${party} could not be sent (${message})`, by: "system", status: 503, q850: 41 });
  }

  /** Sends the ACK for the attempt's 2xx and keeps what rebuilds it for a retransmitted 2xx. */
  private sendAckB(attempt: Attempt, ack: SipRequest, send: SendTarget): Promise<SendTarget> {
    const sent = this.env.stack.transactions.sendAck(ack, send);
    // sendAck has put the Via with its branch on the ACK before returning.
    const via = ack.via[0];
    if (via !== undefined) attempt.ackSent = { via, body: ack.body, contentType: ack.contentType };
    return sent;
  }

  /** Sends a response on the A leg's INVITE transaction with our tag and Contact; creates the A dialog. */
  private respondA(status: number, phrase: string, headers: HeaderField[], body: Buffer, contentType: string | null): SipResponse | null {
    const tx = this.a.tx;
    if (this.a.finalSent || tx === null) return null;
    const invite = this.inviteA();
    const res = this.env.stack.response(invite, status, phrase, headers);
    if (status > 100) res.to = withParam(res.to, "tag", this.a.tag);
    if (status > 100 && status < 300) res.contact = [this.a.contact];
    if (body.length > 0) {
      res.body = body;
      res.contentType = contentType ?? "application/sdp";
    }
    if (status > 100 && status < 300) {
      if (this.a.dialog === null) {
        const d = Dialog.asUas(invite, res);
        if (d.ok) this.a.dialog = d.value;
        else this.log.warn({ code: d.error.code }, "A-leg dialog not created");
      } else {
        this.a.dialog.sendResponse(invite, res);
      }
    }
    if (status >= 200) this.a.finalSent = true;
    this.env.stack.respond(tx, res);
    if (status >= 200) {
      this.a.invite = null;
      this.a.tx = null;
    }
    return res;
  }

  // ------------------------------------------------------------------ ACK handling

  private expectAck(side: Side, response: SipResponse, context: InboundContext, relay: PendingAck["relay"]): void {
    const t1 = this.env.stack.transactions.timers.t1;
    const pending: PendingAck = { cseq: response.cseq.seq, response, context, timer: null, interval: t1, startedAt: this.env.clock.now(), relay };
    this.pendingAck[side]?.timer?.cancel();
    this.pendingAck[side] = pending;
    // A method and an unnamed arrow rather than a named local function: every answered call comes
    // here, and the TypeScript loader names each local function it creates (defineProperty).
    pending.timer = this.env.clock.schedule(t1, () => this.resend2xx(side, pending));
  }

  /** RFC 3261 13.3.1.4: the 2xx again on Timer G's schedule, until its ACK or 64*T1. */
  private resend2xx(side: Side, pending: PendingAck): void {
    if (this.pendingAck[side] !== pending || this.state === "ended") return;
    const { t1, t2 } = this.env.stack.transactions.timers;
    if (this.env.clock.now() - pending.startedAt >= 64 * t1) {
      // RFC 3261 13.3.1.4: no ACK within 64*T1 ends the session with BYE.
      this.end({ reason: `no ACK from ${sideName(side)} for 2xx`, by: "system", q850: 102 });
      return;
    }
    // A failed resend is retried on the next tick; the last word is the 64*T1 limit above.
    this.env.stack.transactions.sendStatelessResponse(pending.response, pending.context).catch((error: unknown) => this.log.debug({ err: error, side }, "2xx resend failed"));
    pending.interval = Math.min(pending.interval * 2, t2);
    pending.timer = this.env.clock.schedule(pending.interval, () => this.resend2xx(side, pending));
  }

  /** An ACK for a 2xx we sent on `side`. */
  onAck(side: Side, ack: SipRequest): void {
    const pending = this.pendingAck[side];
    if (pending === null || ack.cseq.seq !== pending.cseq) return;
    pending.timer?.cancel();
    this.pendingAck[side] = null;
    const relay = pending.relay;
    if (relay !== null) {
      void (async () => {
        // The ACK's body answers an offer the 2xx carried: anchored like any answer.
        const body = ack.body.length > 0 ? await this.anchoredOr(ack.body, this.env.media.answer(this.cdr.id, side, ack.body), "the ACK's answer") : ack.body;
        const ackOut = buildAck(relay.dialog, relay.invite, body.length > 0 ? { body, contentType: ack.contentType ?? "application/sdp" } : {});
        // Only the ACK of the attempt's own INVITE answers its 2xx retransmissions (not a re-INVITE's).
        const attempt = this.attempt;
        if (side === "a" && attempt !== null && relay.invite === attempt.invite) await this.sendAckB(attempt, ackOut, relay.send);
        else await this.env.stack.transactions.sendAck(ackOut, relay.send);
      })().catch((error: unknown) => this.ackFailed(error, other(side)));
    }
  }

  // ------------------------------------------------------------------ in-dialog requests

  private legDialog(side: Side): Dialog | null {
    return side === "a" ? this.a.dialog : (this.attempt?.dialog ?? null);
  }

  private async targetOf(side: Side): Promise<SendTarget | null> {
    if (side === "a") return this.a.flow;
    const attempt = this.attempt;
    if (attempt === null) return null;
    if (attempt.target.flow !== null || attempt.dialog === null) return attempt.send;
    const uri = routeRequest(attempt.dialog).uri;
    if (uri.scheme !== "sip" && uri.scheme !== "sips") return attempt.send;
    try {
      return (await resolveTarget(uri as SipUri))[0] ?? attempt.send;
    } catch {
      return attempt.send;
    }
  }

  /** A request received inside the dialog of `side` (BYE, re-INVITE, UPDATE, INFO, PRACK, REFER, NOTIFY, OPTIONS). */
  onRequest(side: Side, req: SipRequest, tx: ServerTransaction, referPolicy: "reject" | "pass"): void {
    const dialog = this.legDialog(side);
    if (dialog !== null && req.method !== "CANCEL") {
      const checked = dialog.receiveRequest(req);
      if (!checked.ok) {
        this.reply(req, tx, 500, "CSeq Out of Order");
        return;
      }
    }
    if (req.method === "BYE") {
      this.reply(req, tx, 200);
      const reasonHeader = getHeader(req, "Reason");
      this.end({ reason: `BYE from ${sideName(side)}`, by: sideName(side), byeFrom: side, q850: 16, ...(reasonHeader !== undefined ? { reasonHeader } : {}) });
      return;
    }
    // Not made for a BYE (every call has one): the other methods may answer later, from a callback.
    const reply = (status: number, phrase?: string, headers: HeaderField[] = []): void => this.reply(req, tx, status, phrase, headers);
    switch (req.method) {
      case "OPTIONS":
        reply(200, undefined, [{ name: "Allow", value: this.env.stack.capabilities().allow.join(", ") }]);
        return;
      case "PRACK":
        this.onPrack(side, req, reply, tx);
        return;
      case "INFO": {
        // A digit as SIP INFO towards an RFC 4733 leg goes into that leg's media instead (RFC 4733 events).
        const digit = (req.contentType ?? "").toLowerCase().startsWith("application/dtmf-relay") ? /Signal\s*=\s*([0-9A-D*#])/i.exec(req.body.toString("utf8")) : null;
        if (digit !== null && this.state === "answered") {
          const duration = Number(/Duration\s*=\s*(\d+)/i.exec(req.body.toString("utf8"))?.[1] ?? 160);
          void this.env.media.sendDtmf(this.cdr.id, other(side), (digit[1] ?? "").toUpperCase(), Math.min(Math.max(duration, 40), 5000)).then((sent) => {
            if (sent) {
              this.cdr.trace("dtmf", "info", `INFO digit from ${sideName(side)} sent as RFC 4733 events`);
              reply(200);
            } else {
              void this.relay(side, req, tx);
            }
          });
          return;
        }
        break;
      }
      case "REFER":
        if (referPolicy === "reject") {
          this.cdr.trace("refer", "refuse", `REFER from ${sideName(side)} refused by policy`);
          reply(403, "Forbidden", [{ name: "Warning", value: '399 trunkline "REFER not allowed"' }]);
          return;
        }
        break;
      default:
        break;
    }
    void this.relay(side, req, tx);
  }

  /** Answers a request received in dialog. */
  private reply(req: SipRequest, tx: ServerTransaction, status: number, phrase?: string, headers: HeaderField[] = []): void {
    this.env.stack.respond(tx, this.env.stack.response(req, status, phrase, headers));
  }

  private onPrack(side: Side, req: SipRequest, reply: (status: number) => void, tx: ServerTransaction): void {
    const rack = /^\s*(\d+)\s+(\d+)\s+(\S+)/.exec(getHeader(req, "RAck") ?? "");
    const mapped = side === "a" && rack !== null ? this.rseqMap?.get(Number(rack[1])) : undefined;
    const attempt = mapped?.attempt ?? null;
    if (mapped === undefined || attempt === null || attempt.dialog === null || attempt.abandoned) {
      reply(200);
      return;
    }
    this.rseqMap?.delete(Number(rack?.[1]));
    const prack = buildInDialogRequest(attempt.dialog, "PRACK", {
      headers: [{ name: "RAck", value: `${mapped.rseq} ${mapped.cseq} INVITE` }],
      ...(req.body.length > 0 ? { body: req.body, contentType: req.contentType ?? "application/sdp" } : {}),
    });
    this.env.stack.transactions.sendRequest(prack, attempt.send, {
      onFinal: (res) => {
        const out = this.env.stack.response(req, res.status, res.reason, endToEndHeaders(res));
        if (res.body.length > 0) {
          out.body = res.body;
          out.contentType = res.contentType;
        }
        this.env.stack.respond(tx, out);
      },
    });
  }

  /** Passes a request to the other leg and its answer back (re-INVITE/UPDATE for hold and refresh, INFO, REFER, NOTIFY). */
  private async relay(side: Side, req: SipRequest, tx: ServerTransaction): Promise<void> {
    const to = other(side);
    const dialog = this.legDialog(to);
    const target = await this.targetOf(to);
    if (dialog === null || target === null || this.state === "ended") {
      this.env.stack.respond(tx, this.env.stack.response(req, 481));
      return;
    }
    let body = req.body;
    const isOffer = (req.method === "INVITE" || req.method === "UPDATE") && body.length > 0;
    if (isOffer) {
      try {
        body = await this.env.media.offer(this.cdr.id, side, body);
      } catch (error) {
        const warning = error instanceof MediaAnchorError ? error.warning : undefined;
        const status = error instanceof MediaAnchorError ? error.status : 500;
        this.env.stack.respond(tx, this.env.stack.response(req, status, undefined, warning !== undefined ? [{ name: "Warning", value: warning }] : []));
        return;
      }
    }
    const out = buildInDialogRequest(dialog, req.method, {
      headers: endToEndHeaders(req),
      ...(body.length > 0 ? { body, contentType: req.contentType ?? "application/sdp" } : {}),
    });
    this.cdr.trace("relay", "info", `${req.method} from ${sideName(side)} passed to ${sideName(to)}`);
    const respond = async (res: SipResponse): Promise<SipResponse | undefined> => {
      let resBody = res.body;
      if (isOffer && resBody.length > 0 && res.status >= 200 && res.status < 300) resBody = await this.anchoredOr(resBody, this.env.media.answer(this.cdr.id, to, resBody), `the ${req.method}'s answer`);
      // An offerless re-INVITE: the 2xx carries the offer, the ACK (onAck) the answer.
      else if (req.method === "INVITE" && req.body.length === 0 && resBody.length > 0 && res.status >= 200 && res.status < 300) resBody = await this.anchoredOr(resBody, this.env.media.offer(this.cdr.id, to, resBody), "the re-INVITE's 2xx offer");
      const back = this.env.stack.response(req, res.status, res.reason, endToEndHeaders(res));
      const refresh = req.method === "INVITE" || req.method === "UPDATE";
      if (refresh && res.status >= 200 && res.status < 300) {
        const own = this.legDialog(side);
        if (own !== null) back.to = withParam(back.to, "tag", own.id.localTag);
        back.contact = [side === "a" ? this.a.contact : this.env.contactFor(target.protocol)];
      }
      if (resBody.length > 0) {
        back.body = resBody;
        back.contentType = res.contentType ?? "application/sdp";
      }
      this.env.stack.respond(tx, back);
      return back;
    };
    try {
      this.env.stack.transactions.sendRequest(out, target, {
        onProvisional: (res) => {
          if (res.status > 100) void respond(res);
        },
        onFinal: (res) => {
          dialog.receiveResponse(out, res);
          const ok2xx = res.status >= 200 && res.status < 300;
          if (req.method === "INVITE" && ok2xx) {
            // Offer in the re-INVITE: ACK the far side now; an offerless re-INVITE waits for the answer in our peer's ACK.
            const relayAck = req.body.length === 0 ? { dialog, invite: out, send: target } : null;
            if (relayAck === null) this.env.stack.transactions.sendAck(buildAck(dialog, out), target).catch((error: unknown) => this.ackFailed(error, to));
            void respond(res).then((sent) => {
              // Accepted: our 2xx went out (the transaction keeps no copy), so we retransmit it until the ACK.
              if (sent !== undefined && tx.state === "Accepted" && this.state !== "ended") this.expectAck(side, sent, tx.context, relayAck);
            });
          } else {
            void respond(res);
          }
          if ((req.method === "INVITE" || req.method === "UPDATE") && ok2xx) {
            // A refresh arrived (RFC 4028 10): the session lives for another interval.
            const se = sessionExpiresOf(res) ?? sessionExpiresOf(req);
            if (se !== null) this.armSessionTimer(se.seconds);
            else if (this.sessionSeconds !== null) this.armSessionTimer(this.sessionSeconds);
          }
          if (res.status === 481 || (res.status === 408 && req.method !== "INVITE")) {
            this.end({ reason: `${res.status} to ${req.method} from ${sideName(to)}`, by: "system", q850: sipToQ850(res.status) });
          }
        },
        onAdditional2xx: () => {
          sendAck(this.lateAnswers, buildAck(dialog, out), target);
        },
      });
    } catch (error) {
      this.log.error({ err: error, method: req.method }, "in-dialog request could not be sent");
      this.env.stack.respond(tx, this.env.stack.response(req, 500));
    }
  }

  private sessionSeconds: number | null = null;

  private armSessionTimer(seconds: number): void {
    this.sessionSeconds = seconds;
    this.sessionTimer?.cancel();
    // Torn down when the whole interval passes without a refresh (RFC 4028 10); the refresher had from SE/2 on.
    this.sessionTimer = this.env.clock.schedule(seconds * 1000, () => {
      this.end({ reason: `session timer expired (${seconds} s without refresh)`, by: "system", q850: 102 });
    });
  }

  // ------------------------------------------------------------------ ending

  /** The call has lasted the longest a call may (calls.maxDurationSeconds). */
  maxDurationReached(): void {
    this.end({ reason: `max duration ${Math.round(this.env.maxCallDurationMs / 1000)} s reached`, by: "system", q850: 102 });
  }

  /**
   * The one way a call ends, whatever the cause: final answer or BYE/CANCEL to whichever legs need
   * one, channels released, media freed, CDR closed. Idempotent: the first ending wins.
   */
  end(e: Ending): void {
    if (this.state === "ended") return;
    const wasAnswered = this.state === "answered";
    this.state = "ended";
    for (const t of this.timers) t.cancel();
    this.env.answeredCalls.delete(this);
    this.sessionTimer?.cancel();
    for (const side of ["a", "b"] as const) this.pendingAck[side]?.timer?.cancel();
    const q850 = (e.reasonHeader !== undefined ? q850FromReason(e.reasonHeader) : undefined) ?? e.q850 ?? (e.status !== undefined ? sipToQ850(e.status) : 16);
    const reasonValue = e.reasonHeader ?? q850Reason(q850);
    try {
      // B side: cancel every pending attempt, or BYE the answered one (unless it sent the BYE).
      for (const pending of this.active) {
        pending.abandoned = true;
        pending.timer?.cancel();
        if (pending.tx !== null) this.env.stack.transactions.cancel(pending.tx, { reason: reasonValue });
        pending.hold?.release();
        this.cdr.attemptEnd(pending.cdrIndex, "cancelled", null);
      }
      this.active = [];
      const attempt = this.attempt;
      if (attempt !== null && wasAnswered && e.byeFrom !== "b" && attempt.dialog !== null) {
        this.sendBye("b", attempt.dialog, attempt.send, reasonValue);
      }
      // A side: a final response if it has none yet, else a BYE (unless it sent the BYE).
      if (!this.a.finalSent) {
        const headers = [...(e.headers ?? [])];
        if (e.reasonHeader !== undefined || e.q850 !== undefined) headers.push({ name: "Reason", value: reasonValue });
        this.respondA(e.status ?? 500, e.phrase ?? "", headers, Buffer.alloc(0), null);
        if (e.status === undefined) this.log.error({ reason: e.reason }, "call ended without a status for the caller");
      } else if (e.byeFrom !== "a" && this.a.dialog !== null) {
        this.sendBye("a", this.a.dialog, this.a.flow, reasonValue);
      }
    } catch (error) {
      this.log.error({ err: error, reason: e.reason }, "error while ending call");
    }
    for (const hold of this.holds) hold.release();
    this.unlistenMedia?.();
    const mediaQuality = wasAnswered ? this.env.media.report(this.cdr.id) : undefined;
    if (mediaQuality !== undefined) this.cdr.set({ media: mediaQuality });
    // A relay worker reports every second; its last counts come with the release, and the CDR waits for them.
    const finalMedia = this.env.media.release(this.cdr.id).then(
      (final) => {
        if (wasAnswered && final !== undefined) this.cdr.set({ media: final });
      },
      (error: unknown) => this.log.error({ err: error }, "media release failed"),
    );
    const durationMs = wasAnswered ? Math.max(0, Math.round(this.env.clock.now() - this.answeredMonotonic)) : 0;
    const finalStatus = wasAnswered ? (this.cdr.get("finalStatus") ?? 200) : (e.status ?? null);
    const disposition = !wasAnswered && e.shutdown === true ? "interrupted" : dispositionOf(wasAnswered, finalStatus, e.cancelled === true);
    let cost: { ratePerMinute: number; cost: number; currency: string } | null = null;
    const target = this.answeredTarget;
    if (wasAnswered && target !== null && target.pricePerMinute !== undefined) {
      cost = { ratePerMinute: target.pricePerMinute, cost: callCost(target.pricePerMinute, durationMs / 1000, BILLING_1_1).cost, currency: target.currency ?? "USD" };
    }
    this.cdr.trace("end", "info", e.reason, { by: e.by, q850, status: finalStatus });
    this.cdr.set({
      endedAt: this.env.clock.wallNow(),
      durationMs,
      finalStatus,
      q850Cause: q850,
      disposition,
      hangupBy: e.by,
      endReason: e.reason,
      ...(cost !== null ? { ratePerMinute: cost.ratePerMinute, cost: cost.cost, currency: cost.currency } : {}),
    });
    this.log.info({ reason: e.reason, by: e.by, disposition, q850, durationMs }, "call ended");
    this.env.closeCdr(this.cdr, this.log, wasAnswered && this.env.media.reportsOnRelease ? finalMedia : undefined);
    // Each B-leg INVITE transaction stays until Timer D or M (32 s on UDP): through its user it
    // would keep the whole ended call (dialogs, record, log) alive that long.
    for (const user of this.attemptUsers) user.release();
    this.attemptUsers = [];
    // Likewise the A leg's INVITE transaction (Timer L): a CANCEL or failure after the end changes nothing.
    if (this.aTransaction !== null) {
      this.aTransaction.oncancel = null;
      this.aTransaction.onfailure = null;
      this.aTransaction = null;
    }
    this.env.ended(this);
  }

  private sendBye(side: Side, dialog: Dialog, send: SendTarget, reason: string): void {
    const bye = buildInDialogRequest(dialog, "BYE", { headers: [{ name: "Reason", value: reason }] });
    dialog.terminate();
    // The BYE's transaction lives on for Timer K after the call ended: its callback keeps the log, not the call.
    const log = this.log;
    this.env.stack.transactions.sendRequest(bye, send, {
      onFinal: (res) => {
        if (res.status >= 300) log.info({ side, status: res.status }, "BYE answered with failure");
      },
    });
  }
}

/**
 * The transaction user of one B-leg INVITE. A class, not an object of arrow functions: the
 * transaction keeps it until Timer M, 32 s after the answer, and prototype methods cost nothing
 * per call where three closures (named per instance by the TypeScript loader) cost ~1 KiB.
 */
class AttemptUser implements ClientTransactionUser {
  private call: Call | null;

  constructor(
    call: Call,
    private readonly attempt: Attempt,
    private readonly answers: LateAnswers,
  ) {
    this.call = call;
  }

  /**
   * The call has ended: only what a late or repeated 2xx needs is kept (the attempt: its INVITE,
   * dialog and ACK), so the call itself can be collected while the transaction waits out its timer.
   */
  release(): void {
    this.call = null;
    this.attempt.timer = null;
    this.attempt.hold = null;
  }

  onProvisional(res: SipResponse): void {
    this.call?.onProvisional(this.attempt, res);
  }

  onFinal(res: SipResponse, tx: ClientTransaction, source: "network" | "timeout" | "transport"): void {
    if (this.call !== null) this.call.onFinal(this.attempt, res, tx, source);
    // A 2xx after the call ended (a CANCEL race) must not stay up unbilled.
    else if (res.status >= 200 && res.status < 300) ackAndBye(this.answers, this.attempt, res, "Call ended");
  }

  /** A repeated 2xx gets the same ACK again (RFC 3261 13.2.2.4); another fork's 2xx is acknowledged and hung up. */
  onAdditional2xx(res: SipResponse): void {
    additional2xx(this.answers, this.attempt, res);
  }
}

/** What answering a B-leg 2xx needs, with or without its call: the stack's transactions and the call's log. */
interface LateAnswers {
  readonly transactions: SipStack["transactions"];
  readonly log: CallLog;
}

/** Sends an ACK for a 2xx; a transport failure is logged (an ACK has no transaction to report it). */
function sendAck(answers: LateAnswers, ack: SipRequest, send: SendTarget): void {
  answers.transactions.sendAck(ack, send).catch((error: unknown) => answers.log.warn({ err: error }, "ACK for a 2xx could not be sent"));
}

function additional2xx(answers: LateAnswers, attempt: Attempt, res: SipResponse): void {
  const dialog = attempt.dialog;
  if (dialog !== null && res.to.params["tag"] === dialog.id.remoteTag) {
    // Not acknowledged yet (a late offer waits for the caller's ACK): that ACK will answer it.
    const sent = attempt.ackSent;
    if (sent === null) return;
    // Rebuilt with the first ACK's Via, body and CSeq, it is that ACK again.
    const ack = buildAck(dialog, attempt.invite, sent.body.length > 0 ? { body: sent.body, contentType: sent.contentType ?? "application/sdp" } : {});
    ack.via = [sent.via];
    sendAck(answers, ack, attempt.send);
    return;
  }
  ackAndBye(answers, attempt, res, "another fork answered first");
}

/** Acknowledges a 2xx nobody wants and hangs that dialog up at once. */
function ackAndBye(answers: LateAnswers, attempt: Attempt, res: SipResponse, why: string): void {
  const d = Dialog.asUac(attempt.invite, res);
  if (!d.ok) return;
  sendAck(answers, buildAck(d.value, attempt.invite), attempt.send);
  const bye = buildInDialogRequest(d.value, "BYE", { headers: [{ name: "Reason", value: `SIP;cause=200;text="${why}"` }] });
  answers.transactions.sendRequest(bye, attempt.send, { onFinal: () => {} });
}
