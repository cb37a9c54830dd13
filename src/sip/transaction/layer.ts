import { DelayQueue, newBranch, systemClock } from "../../lib/index.ts";
import { createResponse, withItem, withParam, type SipMessage, type SipRequest, type SipResponse } from "../message/index.ts";
import type { InboundContext, SendTarget } from "../transport/index.ts";
import { MAGIC_COOKIE, buildCancel, detached, flat, freshTag, topBranch } from "./build.ts";
import { InviteClientTransaction, NonInviteClientTransaction } from "./client-transaction.ts";
import type { Expiring, FinalWait, TransactionHost } from "./host.ts";
import { InviteServerTransaction, NonInviteServerTransaction } from "./server-transaction.ts";
import type {
  AckHandler,
  CancelOptions,
  ClientTransaction,
  ClientTransactionUser,
  RequestHandler,
  StrayResponseHandler,
  TimerValues,
  TransactionCounts,
  TransactionLayer,
  TransactionLayerOptions,
  TransactionTimerOptions,
} from "./types.ts";

type ClientTx = InviteClientTransaction | NonInviteClientTransaction;
type ServerTx = InviteServerTransaction | NonInviteServerTransaction;

/** Fills the RFC 3261 defaults (Table 4) for whatever the options leave out. */
export function resolveTimers(options: TransactionTimerOptions = {}): TimerValues {
  return {
    t1: options.t1 ?? 500,
    t2: options.t2 ?? 4000,
    t4: options.t4 ?? 5000,
    timerC: options.timerC === undefined ? 180_000 : options.timerC,
    trying: options.trying ?? 200,
  };
}

/**
 * The server-side matching key of RFC 3261 17.2.3: top Via branch and sent-by; the method is checked
 * against the stored transaction so ACK (and CANCEL, 9.2) can find their INVITE with the same key.
 * Without the magic cookie the RFC 2543 fallback is approximated by Call-ID, From tag, CSeq number and
 * sent-by, which the INVITE, its ACK and its CANCEL share.
 */
export function serverKey(request: SipRequest): string | null {
  const top = request.via[0];
  if (top === undefined) return null;
  const sentBy = top.port === null ? top.host.toLowerCase() : top.host.toLowerCase() + ":" + top.port;
  const branch = top.params["branch"];
  // Flat: the transaction keeps its key as long as it lives (Timer L: 32 s after a call's answer), and
  // a joined key would keep its pieces, among them a branch cut out of the whole message text.
  if (typeof branch === "string" && branch.startsWith(MAGIC_COOKIE)) return flat(branch + " " + sentBy);
  const fromTag = request.from.params["tag"] ?? "";
  return flat("2543 " + request.callId + " " + fromTag + " " + request.cseq.seq + " " + sentBy);
}

/** Creates a transaction layer and registers it as the transport's message handler. */
export function createTransactionLayer(options: TransactionLayerOptions): TransactionLayer {
  const transport = options.transport;
  const clock = options.clock ?? systemClock;
  const timers = resolveTimers(options.timers);
  // CANCEL shares its INVITE's branch and sent-by, so it lives in maps of its own (RFC 3261 9.1, 17.1.3).
  const clients = new Map<string, ClientTx>();
  const cancelClients = new Map<string, NonInviteClientTransaction>();
  const servers = new Map<string, ServerTx>();
  const cancelServers = new Map<string, NonInviteServerTransaction>();
  let requestHandler: RequestHandler | null = null;
  let ackHandler: AckHandler | null = null;
  let strayHandler: StrayResponseHandler | null = null;
  let closed = false;
  const expire = (tx: Expiring): void => tx.expire();
  const waits: Record<FinalWait, DelayQueue<Expiring>> = {
    "64*T1": new DelayQueue(clock, 64 * timers.t1, expire),
    T4: new DelayQueue(clock, timers.t4, expire),
    D: new DelayQueue(clock, Math.max(32000, 64 * timers.t1), expire),
  };

  const host: TransactionHost = {
    transport,
    clock,
    timers,
    removeClient(branch, isCancel) {
      (isCancel ? cancelClients : clients).delete(branch);
    },
    removeServer(key, isCancel) {
      (isCancel ? cancelServers : servers).delete(key);
    },
    sendCancel(invite, target, cancelOptions) {
      const cancel = buildCancel(invite, cancelOptions.reason);
      const branch = topBranch(cancel) ?? "";
      const onFinal = cancelOptions.onFinal;
      const user: ClientTransactionUser = {
        onFinal: (response, _tx, source) => onFinal?.(response, source),
      };
      cancelClients.get(branch)?.dispose();
      const tx = new NonInviteClientTransaction(host, cancel, branch, target, user, true);
      cancelClients.set(branch, tx);
      tx.start();
    },
    startWait(tx, wait) {
      waits[wait].add(tx);
    },
    stopWait(tx, wait) {
      waits[wait].delete(tx);
    },
    deliverAck(ack, context) {
      ackHandler?.(ack, context);
    },
    timedOut(side, method) {
      options.onTimeout?.(side, method);
    },
  };

  function receiveResponse(response: SipResponse, context: InboundContext): void {
    const branch = topBranch(response);
    if (branch !== null) {
      const method = response.cseq.method;
      const tx = method === "CANCEL" ? cancelClients.get(branch) : clients.get(branch);
      if (tx !== undefined && tx.method === method) {
        tx.receive(response);
        return;
      }
    }
    strayHandler?.(response, context);
  }

  function receiveCancel(cancel: SipRequest, key: string, context: InboundContext): void {
    const existing = cancelServers.get(key);
    if (existing !== undefined) {
      existing.receiveRequest();
      return;
    }
    const tx = new NonInviteServerTransaction(host, cancel, context, key, topBranch(cancel) ?? "", true);
    cancelServers.set(key, tx);
    const target = servers.get(key);
    // 9.2: the CANCEL matches a transaction of any method but CANCEL and ACK.
    if (target === undefined) {
      tx.respond(createResponse(cancel, 481, undefined, { toTag: freshTag() }));
      return;
    }
    const sentTag = target instanceof InviteServerTransaction ? target.responseToTag() : target.lastResponse?.to.params["tag"];
    const toTag = sentTag ?? cancel.to.params["tag"] ?? freshTag();
    tx.respond(createResponse(cancel, 200, undefined, { toTag }));
    if (target instanceof InviteServerTransaction && target.markCancelled()) {
      if (target.oncancel !== null) target.oncancel(cancel, target);
      else if (target.request !== null) target.respond(createResponse(target.request, 487, undefined, { toTag }));
    }
  }

  function receiveRequest(request: SipRequest, context: InboundContext): void {
    const key = serverKey(request);
    // A request without Via cannot be answered (8.2.6.2 copies it); the parser should not let it through.
    if (key === null) return;
    const method = request.method;
    if (method === "CANCEL") {
      receiveCancel(request, key, context);
      return;
    }
    const existing = servers.get(key);
    if (method === "ACK") {
      if (existing instanceof InviteServerTransaction) existing.receiveAck(request, context);
      else ackHandler?.(request, context);
      return;
    }
    if (existing !== undefined) {
      // Same branch and sent-by but another method is a broken peer; it cannot have a transaction of its own.
      if (existing.method === method) existing.receiveRequest();
      return;
    }
    const branch = detached(topBranch(request) ?? "");
    let tx: ServerTx;
    if (method === "INVITE") {
      const invite = new InviteServerTransaction(host, request, context, key, branch);
      invite.start();
      tx = invite;
    } else {
      tx = new NonInviteServerTransaction(host, request, context, key, branch, false);
    }
    servers.set(key, tx);
    if (requestHandler !== null) requestHandler(request, tx, context);
    else tx.respond(createResponse(request, 503, undefined, { toTag: freshTag() }));
  }

  transport.onMessage((message: SipMessage, context: InboundContext) => {
    if (closed) return;
    if (message.kind === "response") receiveResponse(message, context);
    else receiveRequest(message, context);
  });

  function ensureBranch(request: SipRequest, target: SendTarget): string {
    const top = request.via[0];
    if (top === undefined) {
      // The transport fills sent-by; the layer only needs somewhere to put the branch.
      const branch = flat(newBranch());
      request.via = [{ transport: target.protocol, host: "invalid", port: null, params: { branch } }];
      return branch;
    }
    const existing = top.params["branch"];
    if (typeof existing === "string" && existing.length > 0) return existing;
    const branch = flat(newBranch());
    request.via = withItem(request.via, 0, withParam(top, "branch", branch));
    return branch;
  }

  return {
    timers,
    onRequest(handler) {
      requestHandler = handler;
    },
    onAck(handler) {
      ackHandler = handler;
    },
    onStrayResponse(handler) {
      strayHandler = handler;
    },
    sendRequest(request, target, user): ClientTransaction {
      if (closed) throw new Error("transaction layer is closed");
      if (request.method === "ACK") throw new Error("ACK is not a transaction: use sendAck (RFC 3261 17.1.1.3)");
      const branch = ensureBranch(request, target);
      const isCancel = request.method === "CANCEL";
      const map = isCancel ? cancelClients : clients;
      if (map.has(branch)) throw new Error(`client transaction ${branch} already exists: every new request needs a new branch`);
      const tx =
        request.method === "INVITE"
          ? new InviteClientTransaction(host, request, branch, target, user)
          : new NonInviteClientTransaction(host, request, branch, target, user, isCancel);
      map.set(branch, tx);
      tx.start();
      return tx;
    },
    cancel(tx: ClientTransaction, cancelOptions: CancelOptions = {}): boolean {
      if (!(tx instanceof InviteClientTransaction) || closed) return false;
      return tx.requestCancel(cancelOptions, "tu");
    },
    sendAck(ack, target) {
      ensureBranch(ack, target);
      return transport.sendRequest(ack, target);
    },
    sendStatelessResponse(response, context) {
      return transport.sendResponse(response, context);
    },
    size(): TransactionCounts {
      const client = clients.size + cancelClients.size;
      const server = servers.size + cancelServers.size;
      return { client, server, total: client + server };
    },
    close() {
      closed = true;
      for (const map of [clients, cancelClients, servers, cancelServers]) {
        for (const tx of map.values()) tx.dispose();
        map.clear();
      }
      for (const queue of Object.values(waits)) queue.clear();
    },
  };
}
