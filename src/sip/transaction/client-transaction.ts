import type { Timer } from "../../lib/index.ts";
import type { SipRequest, SipResponse } from "../message/index.ts";
import { TransportError, type SendTarget } from "../transport/index.ts";
import { buildNon2xxAck, synthesizeResponse } from "./build.ts";
import { cancelTimer, startFinalWait, stopFinalWait, type FinalWait, type TransactionHost } from "./host.ts";
import type {
  CancelOptions,
  ClientTransaction,
  ClientTransactionUser,
  InviteClientState,
  NonInviteClientState,
  ResponseSource,
} from "./types.ts";

function asTransportError(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  return new TransportError("ERR_TRANSPORT_SEND", error instanceof Error ? error.message : String(error), { cause: error });
}

/**
 * INVITE client transaction, RFC 3261 17.1.1 as amended by RFC 6026 (Accepted state, Timer M).
 * Timer A retransmits over UDP only, doubling from T1 without a cap (17.1.1.2); Timer B bounds Calling.
 */
export class InviteClientTransaction implements ClientTransaction {
  readonly isInvite = true;
  readonly method: string;
  state: InviteClientState = "Calling";
  target: SendTarget;
  transportError: TransportError | null = null;
  cancelRequested = false;
  /** Why the layer sent a CANCEL on its own (Timer C), or null. */
  cancelledBy: "tu" | "timerC" | null = null;

  private reliable: boolean;
  private intervalA: number;
  private timerA: Timer | null = null;
  private timerB: Timer | null = null;
  private timerC: Timer | null = null;
  /** Timer D (Completed) or M (Accepted), kept by the layer's queues. */
  private wait: FinalWait | null = null;
  /** RFC 3261 9.1: no final response 64*T1 after the CANCEL means the INVITE is given up. */
  private cancelGuard: Timer | null = null;
  private ack: SipRequest | null = null;
  private pendingCancel: CancelOptions | null = null;
  /** Dropped in Accepted: a held call keeps this transaction until Timer M and its TU keeps what it needs. */
  private invite: SipRequest | null;

  constructor(
    private readonly host: TransactionHost,
    request: SipRequest,
    readonly branch: string,
    target: SendTarget,
    private readonly user: ClientTransactionUser,
  ) {
    this.invite = request;
    this.method = request.method;
    this.target = target;
    this.reliable = target.protocol !== "UDP";
    this.intervalA = host.timers.t1;
  }

  get request(): SipRequest | null {
    return this.invite;
  }

  /** Enters Calling: sends the INVITE and starts Timers A (UDP), B and C. */
  start(): void {
    const { clock, timers } = this.host;
    if (this.invite !== null) this.send(this.invite);
    if (!this.reliable) this.timerA = clock.schedule(this.intervalA, () => this.onTimerA());
    this.timerB = clock.schedule(64 * timers.t1, () => this.onTimerB());
    if (timers.timerC !== null) this.timerC = clock.schedule(timers.timerC, () => this.onTimerC());
  }

  /** A response matched this transaction (17.1.3). */
  receive(response: SipResponse): void {
    const status = response.status;
    switch (this.state) {
      case "Calling":
      case "Proceeding":
        if (status < 200) {
          this.timerA = cancelTimer(this.timerA);
          this.state = "Proceeding";
          // RFC 3261 16.7 step 2: only 101-199 show the far end is alive, so only they reset Timer C.
          if (status > 100 && this.timerC !== null) {
            this.timerC.cancel();
            this.timerC = this.host.clock.schedule(this.host.timers.timerC ?? 0, () => this.onTimerC());
          }
          if (this.pendingCancel !== null) {
            const options = this.pendingCancel;
            this.pendingCancel = null;
            this.fireCancel(options);
          }
          this.user.onProvisional?.(response, this);
        } else if (status < 300) {
          this.stopCallingTimers();
          this.state = "Accepted";
          this.invite = null;
          this.wait = startFinalWait(this.host, this, "64*T1");
          this.user.onFinal(response, this, "network");
        } else {
          this.stopCallingTimers();
          this.state = "Completed";
          if (this.invite !== null) {
            this.ack = buildNon2xxAck(this.invite, response);
            this.send(this.ack);
          }
          this.user.onFinal(response, this, "network");
          if (this.reliable) this.terminate();
          else this.wait = startFinalWait(this.host, this, "D");
        }
        return;
      case "Completed":
        // A retransmitted final response means our ACK was lost: send it again, the TU has seen it.
        if (status >= 300 && this.ack !== null) this.send(this.ack);
        return;
      case "Accepted":
        if (status >= 200 && status < 300) this.user.onAdditional2xx?.(response, this);
        return;
      case "Terminated":
        return;
    }
  }

  /** Asks for a CANCEL (RFC 3261 9.1): sent now when Proceeding, queued while Calling. */
  requestCancel(options: CancelOptions, by: "tu" | "timerC"): boolean {
    if (this.cancelRequested) return this.state === "Calling" || this.state === "Proceeding";
    if (this.state === "Calling") {
      this.cancelRequested = true;
      this.cancelledBy = by;
      this.pendingCancel = options;
      return true;
    }
    if (this.state === "Proceeding") {
      this.cancelRequested = true;
      this.cancelledBy = by;
      this.fireCancel(options);
      return true;
    }
    return false;
  }

  /** Stops every timer without telling the TU (layer close). */
  dispose(): void {
    this.stopCallingTimers();
    this.wait = stopFinalWait(this.host, this, this.wait);
    this.cancelGuard = cancelTimer(this.cancelGuard);
    this.state = "Terminated";
  }

  /** The final wait (Timer D or M) is over: the transaction terminates. */
  expire(): void {
    this.wait = null;
    this.terminate();
  }

  private fireCancel(options: CancelOptions): void {
    if (this.invite !== null) this.host.sendCancel(this.invite, this.target, options);
    this.cancelGuard = this.host.clock.schedule(64 * this.host.timers.t1, () => this.onCancelGuard());
  }

  private send(request: SipRequest): void {
    this.host.transport.sendRequest(request, this.target).then(
      (used) => this.onSent(used),
      (error: unknown) => this.onSendError(error),
    );
  }

  private onSent(used: SendTarget): void {
    if (this.state === "Terminated") return;
    this.target = used;
    // The transport may move a large request to TCP (RFC 3261 18.1.1): then no more Timer A.
    if (used.protocol !== "UDP" && !this.reliable) {
      this.reliable = true;
      this.timerA = cancelTimer(this.timerA);
    }
  }

  private onSendError(error: unknown): void {
    // Only a failure before any final response changes the outcome (RFC 3261 8.1.3.1, 17.1.4).
    if (this.state !== "Calling" && this.state !== "Proceeding") return;
    this.transportError = asTransportError(error);
    this.fail(503, "transport");
  }

  private onTimerA(): void {
    if (this.state !== "Calling" || this.invite === null) return;
    this.send(this.invite);
    this.intervalA *= 2;
    this.timerA = this.host.clock.schedule(this.intervalA, () => this.onTimerA());
  }

  private onTimerB(): void {
    this.timerB = null;
    if (this.state === "Calling") this.fail(408, "timeout");
  }

  private onTimerC(): void {
    this.timerC = null;
    if (this.state === "Proceeding") this.requestCancel({}, "timerC");
  }

  private onCancelGuard(): void {
    this.cancelGuard = null;
    if (this.state === "Proceeding" || this.state === "Calling") this.fail(408, "timeout");
  }

  private fail(status: 408 | 503, source: ResponseSource): void {
    if (source === "timeout") this.host.timedOut("client", this.method);
    this.stopCallingTimers();
    this.terminate();
    if (this.invite !== null) this.user.onFinal(synthesizeResponse(this.invite, status), this, source);
  }

  private stopCallingTimers(): void {
    this.timerA = cancelTimer(this.timerA);
    this.timerB = cancelTimer(this.timerB);
    this.timerC = cancelTimer(this.timerC);
    this.cancelGuard = cancelTimer(this.cancelGuard);
    this.pendingCancel = null;
  }

  private terminate(): void {
    if (this.state === "Terminated") return;
    this.dispose();
    this.host.removeClient(this.branch, false);
  }
}

/**
 * Non-INVITE client transaction, RFC 3261 17.1.2: Timer E retransmits over UDP (T1 doubling up to T2,
 * then T2 once Proceeding), Timer F bounds the transaction, Timer K absorbs response retransmissions.
 */
export class NonInviteClientTransaction implements ClientTransaction {
  readonly isInvite = false;
  readonly method: string;
  readonly cancelRequested = false;
  state: NonInviteClientState = "Trying";
  target: SendTarget;
  transportError: TransportError | null = null;

  private reliable: boolean;
  private intervalE: number;
  private timerE: Timer | null = null;
  private timerF: Timer | null = null;
  /** Timer K, kept by the layer's queues. */
  private wait: FinalWait | null = null;

  constructor(
    private readonly host: TransactionHost,
    readonly request: SipRequest,
    readonly branch: string,
    target: SendTarget,
    private readonly user: ClientTransactionUser,
    private readonly isCancel: boolean,
  ) {
    this.method = request.method;
    this.target = target;
    this.reliable = target.protocol !== "UDP";
    this.intervalE = host.timers.t1;
  }

  /** Enters Trying: sends the request and starts Timers E (UDP) and F. */
  start(): void {
    this.send();
    if (!this.reliable) this.timerE = this.host.clock.schedule(this.intervalE, () => this.onTimerE());
    this.timerF = this.host.clock.schedule(64 * this.host.timers.t1, () => this.onTimerF());
  }

  /** A response matched this transaction (17.1.3). */
  receive(response: SipResponse): void {
    if (this.state !== "Trying" && this.state !== "Proceeding") return;
    if (response.status < 200) {
      this.state = "Proceeding";
      this.user.onProvisional?.(response, this);
      return;
    }
    this.timerE = cancelTimer(this.timerE);
    this.timerF = cancelTimer(this.timerF);
    this.state = "Completed";
    this.user.onFinal(response, this, "network");
    if (this.reliable) this.terminate();
    else this.wait = startFinalWait(this.host, this, "T4");
  }

  /** Stops every timer without telling the TU (layer close). */
  dispose(): void {
    this.timerE = cancelTimer(this.timerE);
    this.timerF = cancelTimer(this.timerF);
    this.wait = stopFinalWait(this.host, this, this.wait);
    this.state = "Terminated";
  }

  /** The final wait (Timer K) is over: the transaction terminates. */
  expire(): void {
    this.wait = null;
    this.terminate();
  }

  private send(): void {
    this.host.transport.sendRequest(this.request, this.target).then(
      (used) => this.onSent(used),
      (error: unknown) => this.onSendError(error),
    );
  }

  private onSent(used: SendTarget): void {
    if (this.state === "Terminated") return;
    this.target = used;
    if (used.protocol !== "UDP" && !this.reliable) {
      this.reliable = true;
      this.timerE = cancelTimer(this.timerE);
    }
  }

  private onSendError(error: unknown): void {
    if (this.state !== "Trying" && this.state !== "Proceeding") return;
    this.transportError = asTransportError(error);
    this.fail(503, "transport");
  }

  private onTimerE(): void {
    if (this.state !== "Trying" && this.state !== "Proceeding") return;
    this.send();
    // 17.1.2.2: in Proceeding the interval is T2; in Trying it doubles up to T2.
    this.intervalE = this.state === "Proceeding" ? this.host.timers.t2 : Math.min(2 * this.intervalE, this.host.timers.t2);
    this.timerE = this.host.clock.schedule(this.intervalE, () => this.onTimerE());
  }

  private onTimerF(): void {
    this.timerF = null;
    if (this.state === "Trying" || this.state === "Proceeding") this.fail(408, "timeout");
  }

  private fail(status: 408 | 503, source: ResponseSource): void {
    if (source === "timeout") this.host.timedOut("client", this.method);
    this.terminate();
    this.user.onFinal(synthesizeResponse(this.request, status), this, source);
  }

  private terminate(): void {
    if (this.state === "Terminated") return;
    this.dispose();
    this.host.removeClient(this.branch, this.isCancel);
  }
}
