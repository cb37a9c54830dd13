import type { Clock } from "../../lib/index.ts";
import type { SipRequest } from "../message/index.ts";
import type { InboundContext, SendTarget, SipTransport } from "../transport/index.ts";
import type { CancelOptions, TimerValues } from "./types.ts";

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
  /** Passes an ACK for a 2xx up to the TU. */
  deliverAck(ack: SipRequest, context: InboundContext): void;
}
