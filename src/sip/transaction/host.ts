import type { Clock, Timer } from "../../lib/index.ts";
import type { SipRequest } from "../message/index.ts";
import type { InboundContext, SendTarget, SipTransport } from "../transport/index.ts";
import type { CancelOptions, TimerValues } from "./types.ts";

/**
 * The waits a transaction spends in its last state before it terminates, all of fixed length:
 * "64*T1" for Timers J, L and M, "T4" for Timers I and K, "D" for Timer D (at least 32 s).
 */
export type FinalWait = "64*T1" | "T4" | "D";

/** A transaction that can wait out a FinalWait; `expire` terminates it. */
export interface Expiring {
  expire(): void;
}

/**
 * What a state machine needs from the layer that owns it. Machines never import the layer, so the
 * layer can keep its maps private and the machines stay testable one by one.
 */
export interface TransactionHost {
  readonly transport: SipTransport;
  readonly clock: Clock;
  readonly timers: TimerValues;
  /** Forgets a terminated client transaction. */
  removeClient(branch: string, isCancel: boolean): void;
  /** Forgets a terminated server transaction. */
  removeServer(key: string, isCancel: boolean): void;
  /** Sends the CANCEL of an INVITE client transaction as its own non-INVITE client transaction. */
  sendCancel(invite: SipRequest, target: SendTarget, options: CancelOptions): void;
  /**
   * Starts the final wait of tx: tx.expire() is called when it is over. The layer keeps one queue,
   * and one clock timer, per wait length for all its transactions: a held call's INVITE
   * transactions sit in Timer L and M for 32 s, and a timer each is most of what they weigh.
   * Never expires tx before it returns (startFinalWait records the wait after the call).
   */
  startWait(tx: Expiring, wait: FinalWait): void;
  /** Ends the final wait of tx early without expiring it (layer close). */
  stopWait(tx: Expiring, wait: FinalWait): void;
  /** Passes an ACK for a 2xx up to the TU. */
  deliverAck(ack: SipRequest, context: InboundContext): void;
  /** Counts a transaction that timed out. */
  timedOut(side: "client" | "server", method: string): void;
}

/** Cancels a timer if there is one; returns null to clear the field that held it. */
export function cancelTimer(timer: Timer | null): null {
  if (timer !== null) timer.cancel();
  return null;
}

/** Puts tx in the layer's queue for `wait`; returns `wait` for the field that records it. */
export function startFinalWait(host: TransactionHost, tx: Expiring, wait: FinalWait): FinalWait {
  host.startWait(tx, wait);
  return wait;
}

/** Takes tx out of the layer's queue for `wait` if it is in one; returns null to clear the field. */
export function stopFinalWait(host: TransactionHost, tx: Expiring, wait: FinalWait | null): null {
  if (wait !== null) host.stopWait(tx, wait);
  return null;
}
