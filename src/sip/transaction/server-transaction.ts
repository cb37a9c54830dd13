import type { Timer } from "../../lib/index.ts";
import { createResponse, type SipRequest, type SipResponse } from "../message/index.ts";
import type { InboundContext } from "../transport/index.ts";
import { cancelTimer, startFinalWait, stopFinalWait, type FinalWait, type TransactionHost } from "./host.ts";
import type { InviteServerState, NonInviteServerState, ServerFailure, ServerTransaction } from "./types.ts";

function toTagOf(response: SipResponse): string | undefined {
  const tag = response.to.params["tag"];
  return typeof tag === "string" ? tag : undefined;
}

/**
 * INVITE server transaction, RFC 3261 17.2.1 as amended by RFC 6026: a 2xx moves it to Accepted
 * (Timer L) where INVITE retransmissions are absorbed and ACKs go to the TU; a non-2xx final is
 * retransmitted on Timer G (UDP) until the ACK or Timer H.
 */
export class InviteServerTransaction implements ServerTransaction {
  readonly isInvite = true;
  readonly method: string;
  state: InviteServerState = "Proceeding";
  lastResponse: SipResponse | null = null;
  cancelled = false;
  oncancel: ((cancel: SipRequest, tx: ServerTransaction) => void) | null = null;
  onfailure: ((failure: ServerFailure, tx: ServerTransaction) => void) | null = null;

  private readonly reliable: boolean;
  private intervalG: number;
  private trying100: Timer | null = null;
  private timerG: Timer | null = null;
  private timerH: Timer | null = null;
  /** Timer I (Confirmed) or L (Accepted), kept by the layer's queues. */
  private wait: FinalWait | null = null;
  private acceptedToTag: string | undefined;
  private invite: SipRequest | null;

  constructor(
    private readonly host: TransactionHost,
    request: SipRequest,
    readonly context: InboundContext,
    readonly key: string,
    readonly branch: string,
  ) {
    this.invite = request;
    this.method = request.method;
    this.reliable = context.protocol !== "UDP";
    this.intervalG = host.timers.t1;
  }

  get request(): SipRequest | null {
    return this.invite;
  }

  /** Enters Proceeding; the 100 Trying waits for the TU to stay quiet for 200 ms (17.2.1). */
  start(): void {
    this.trying100 = this.host.clock.schedule(this.host.timers.trying, () => this.onTrying());
  }

  respond(response: SipResponse): void {
    const status = response.status;
    if (this.state === "Proceeding") {
      this.trying100 = cancelTimer(this.trying100);
      this.lastResponse = response;
      if (status < 200) {
        this.send(response);
      } else if (status < 300) {
        this.state = "Accepted";
        // RFC 6026 7.1: Accepted replays nothing (the TU retransmits its 2xx), so the response is
        // not kept: a call keeps this transaction until Timer L, 32 s, and the 2xx would be the
        // largest thing it held. Its To tag stays for the 200 to a late CANCEL.
        this.acceptedToTag = toTagOf(response);
        this.lastResponse = null;
        this.invite = null;
        this.wait = startFinalWait(this.host, this, "64*T1");
        this.send(response);
      } else {
        this.state = "Completed";
        if (!this.reliable) this.timerG = this.host.clock.schedule(this.intervalG, () => this.onTimerG());
        this.timerH = this.host.clock.schedule(64 * this.host.timers.t1, () => this.onTimerH());
        this.send(response);
      }
    } else if (this.state === "Accepted" && status >= 200 && status < 300) {
      // RFC 6026 7.1: the TU retransmits its 2xx itself; the transaction only passes it down.
      this.send(response);
    }
  }

  /** A retransmission of the INVITE (17.2.1). */
  receiveRequest(): void {
    if ((this.state === "Proceeding" || this.state === "Completed") && this.lastResponse !== null) {
      this.send(this.lastResponse);
    }
    // Accepted (RFC 6026 7.1) and Confirmed absorb it.
  }

  /** An ACK matched this transaction by branch. */
  receiveAck(ack: SipRequest, context: InboundContext): void {
    if (this.state === "Completed") {
      this.timerG = cancelTimer(this.timerG);
      this.timerH = cancelTimer(this.timerH);
      this.state = "Confirmed";
      if (this.reliable) this.terminate();
      else this.wait = startFinalWait(this.host, this, "T4");
    } else if (this.state === "Accepted") {
      this.host.deliverAck(ack, context);
    }
  }

  /** The To tag of the last response sent, also once an acknowledged 2xx has been let go. */
  responseToTag(): string | undefined {
    return this.lastResponse !== null ? toTagOf(this.lastResponse) : this.acceptedToTag;
  }

  /** Marks the INVITE cancelled (9.2); true when it was still Proceeding and the TU should answer 487. */
  markCancelled(): boolean {
    if (this.state !== "Proceeding") return false;
    this.cancelled = true;
    return true;
  }

  /** Stops every timer without telling the TU (layer close). */
  dispose(): void {
    this.trying100 = cancelTimer(this.trying100);
    this.timerG = cancelTimer(this.timerG);
    this.timerH = cancelTimer(this.timerH);
    this.wait = stopFinalWait(this.host, this, this.wait);
    this.state = "Terminated";
  }

  /** The final wait (Timer I or L) is over: the transaction terminates. */
  expire(): void {
    this.wait = null;
    this.terminate();
  }

  private send(response: SipResponse): void {
    this.host.transport.sendResponse(response, this.context).catch((error: unknown) => this.onSendError(error));
  }

  private onSendError(error: unknown): void {
    if (this.state === "Terminated") return;
    // RFC 6026 7.1: in Accepted a transport error is reported but the transaction stays, so
    // INVITE retransmissions keep being absorbed until Timer L.
    if (this.state !== "Accepted") this.terminate();
    this.onfailure?.({ code: "transport", error }, this);
  }

  private onTrying(): void {
    this.trying100 = null;
    if (this.state !== "Proceeding" || this.lastResponse !== null) return;
    if (this.invite === null) return;
    // 17.2.1: the 100 Trying SHOULD NOT carry a To tag the TU has not chosen yet.
    const trying = createResponse(this.invite, 100);
    this.lastResponse = trying;
    this.send(trying);
  }

  private onTimerG(): void {
    this.timerG = null;
    if (this.state !== "Completed" || this.lastResponse === null) return;
    this.send(this.lastResponse);
    this.intervalG = Math.min(2 * this.intervalG, this.host.timers.t2);
    this.timerG = this.host.clock.schedule(this.intervalG, () => this.onTimerG());
  }

  private onTimerH(): void {
    this.timerH = null;
    if (this.state !== "Completed") return;
    this.terminate();
    this.host.timedOut("server", "INVITE");
    this.onfailure?.({ code: "timeout" }, this);
  }

  private terminate(): void {
    if (this.state === "Terminated") return;
    this.dispose();
    this.host.removeServer(this.key, false);
  }
}

/**
 * Non-INVITE server transaction, RFC 3261 17.2.2: request retransmissions are absorbed in Trying and
 * answered with the last response afterwards; Timer J keeps the final response around over UDP.
 */
export class NonInviteServerTransaction implements ServerTransaction {
  readonly isInvite = false;
  readonly method: string;
  readonly cancelled = false;
  state: NonInviteServerState = "Trying";
  lastResponse: SipResponse | null = null;
  oncancel: ((cancel: SipRequest, tx: ServerTransaction) => void) | null = null;
  onfailure: ((failure: ServerFailure, tx: ServerTransaction) => void) | null = null;

  private readonly reliable: boolean;
  /** Timer J, kept by the layer's queues. */
  private wait: FinalWait | null = null;
  private received: SipRequest | null;

  constructor(
    private readonly host: TransactionHost,
    request: SipRequest,
    readonly context: InboundContext,
    readonly key: string,
    readonly branch: string,
    private readonly isCancel: boolean,
  ) {
    this.received = request;
    this.method = request.method;
    this.reliable = context.protocol !== "UDP";
  }

  /** The request; null once Completed, when only the final response is replayed (Timer J, 32 s over UDP). */
  get request(): SipRequest | null {
    return this.received;
  }

  respond(response: SipResponse): void {
    if (this.state !== "Trying" && this.state !== "Proceeding") return;
    this.lastResponse = response;
    if (response.status < 200) {
      this.state = "Proceeding";
      this.send(response);
      return;
    }
    this.state = "Completed";
    this.received = null;
    this.send(response);
    if (this.reliable) this.terminate();
    else this.wait = startFinalWait(this.host, this, "64*T1");
  }

  /** A retransmission of the request (17.2.2). */
  receiveRequest(): void {
    if (this.state !== "Trying" && this.lastResponse !== null && this.state !== "Terminated") this.send(this.lastResponse);
  }

  /** Stops every timer without telling the TU (layer close). */
  dispose(): void {
    this.wait = stopFinalWait(this.host, this, this.wait);
    this.state = "Terminated";
  }

  /** The final wait (Timer J) is over: the transaction terminates. */
  expire(): void {
    this.wait = null;
    this.terminate();
  }

  private send(response: SipResponse): void {
    this.host.transport.sendResponse(response, this.context).catch((error: unknown) => this.onSendError(error));
  }

  private onSendError(error: unknown): void {
    if (this.state === "Terminated") return;
    this.terminate();
    this.onfailure?.({ code: "transport", error }, this);
  }

  private terminate(): void {
    if (this.state === "Terminated") return;
    this.dispose();
    this.host.removeServer(this.key, this.isCancel);
  }
}
