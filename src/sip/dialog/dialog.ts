import { err, ok, type Result } from "../../lib/index.ts";
import { withoutParam, type NameAddr, type SipRequest, type SipResponse, type Uri } from "../message/index.ts";

export type DialogState = "Early" | "Confirmed" | "Terminated";
export type DialogRole = "UAC" | "UAS";

/** Stable codes for why a dialog could not be created or a request does not fit it. */
export type DialogErrorCode =
  | "NOT_DIALOG_CREATING"
  | "MISSING_TO_TAG"
  | "MISSING_FROM_TAG"
  | "MISSING_CONTACT"
  | "CSEQ_OUT_OF_ORDER";

export interface DialogError {
  readonly code: DialogErrorCode;
  readonly detail: string;
}

/** RFC 3261 12: the dialog id is Call-ID, local tag and remote tag. */
export interface DialogId {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
}

/** Methods whose request and 2xx replace the remote target (RFC 3261 12.2, RFC 3311, RFC 6665). */
const TARGET_REFRESH = new Set(["INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY"]);

/** The Map key of a dialog id; Call-ID and tags hold no spaces, so a space separates them. */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return callId + " " + localTag + " " + remoteTag;
}

function tagOf(value: NameAddr): string | null {
  const tag = value.params["tag"];
  return typeof tag === "string" && tag.length > 0 ? tag : null;
}

function withoutTag(value: NameAddr): NameAddr {
  // withoutParam builds without `delete` (which turns the object into a slow dictionary of ~250
  // bytes, and a dialog keeps two of these for the whole call); a From/To with only a tag (most
  // of them) gets the message layer's shared empty params.
  return withoutParam(value, "tag");
}

/** Options when creating a dialog. */
export interface DialogOptions {
  /**
   * RFC 3261 12.1.1 / 12.1.2: true when the request went over TLS with a sips: Request-URI.
   * Defaults to whether the Request-URI is sips:.
   */
  secure?: boolean;
  /** UAS only: the first local CSeq when it sends its first request (12.2.1.1 leaves it open). */
  initialLocalSeq?: number;
}

/**
 * Dialog state (RFC 3261 section 12) for one role. Fields are public for reading; change them
 * through the methods so the RFC's rules on CSeq, targets and routes hold.
 */
export class Dialog {
  state: DialogState;
  readonly id: DialogId;
  /** Local URI with display name (our From in requests), without tag. */
  readonly localUri: NameAddr;
  /** Remote URI with display name (our To in requests), without tag. */
  readonly remoteUri: NameAddr;
  /** Where in-dialog requests go: the peer's Contact (12.1.1, 12.1.2). */
  remoteTarget: Uri;
  /** Our Contact, carried by target refresh requests we send. */
  localContact: NameAddr | null;
  /** Route set in the order requests carry it (already reversed for the UAC). */
  routeSet: NameAddr[];
  /** Last CSeq number we used; null until the UAS sends its first request. */
  localSeq: number | null;
  /** Last CSeq number the peer used; null until the UAC receives its first request. */
  remoteSeq: number | null;
  readonly secure: boolean;

  private constructor(
    readonly role: DialogRole,
    init: {
      state: DialogState;
      id: DialogId;
      localUri: NameAddr;
      remoteUri: NameAddr;
      remoteTarget: Uri;
      localContact: NameAddr | null;
      routeSet: NameAddr[];
      localSeq: number | null;
      remoteSeq: number | null;
      secure: boolean;
    },
    private readonly initialLocalSeq: number,
  ) {
    this.state = init.state;
    this.id = init.id;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.remoteTarget = init.remoteTarget;
    this.localContact = init.localContact;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.secure = init.secure;
  }

  /**
   * RFC 3261 12.1.2: the UAC's dialog from the request it sent and a 101-299 response with a To tag.
   * A 1xx makes an early dialog, a 2xx a confirmed one; the route set is the reversed Record-Route.
   */
  static asUac(request: SipRequest, response: SipResponse, options: DialogOptions = {}): Result<Dialog, DialogError> {
    if (response.status <= 100 || response.status >= 300) return err({ code: "NOT_DIALOG_CREATING", detail: `status ${response.status}` });
    const localTag = tagOf(request.from);
    if (localTag === null) return err({ code: "MISSING_FROM_TAG", detail: "request From has no tag" });
    const remoteTag = tagOf(response.to);
    if (remoteTag === null) return err({ code: "MISSING_TO_TAG", detail: "response To has no tag" });
    const contact = response.contact[0];
    if (contact === undefined) return err({ code: "MISSING_CONTACT", detail: "response has no Contact" });
    const routeSet: NameAddr[] = [];
    for (let i = response.recordRoute.length - 1; i >= 0; i--) routeSet.push(response.recordRoute[i]!);
    return ok(
      new Dialog(
        "UAC",
        {
          state: response.status < 200 ? "Early" : "Confirmed",
          id: { callId: request.callId, localTag, remoteTag },
          localUri: withoutTag(request.from),
          remoteUri: withoutTag(response.to),
          remoteTarget: contact.uri,
          localContact: request.contact[0] ?? null,
          routeSet,
          localSeq: request.cseq.seq,
          remoteSeq: null,
          secure: options.secure ?? request.uri.scheme === "sips",
        },
        request.cseq.seq,
      ),
    );
  }

  /**
   * RFC 3261 12.1.1: the UAS's dialog from the request it received and the 101-299 response it sends
   * (which carries our To tag). The route set is the request's Record-Route in order.
   */
  static asUas(request: SipRequest, response: SipResponse, options: DialogOptions = {}): Result<Dialog, DialogError> {
    if (response.status <= 100 || response.status >= 300) return err({ code: "NOT_DIALOG_CREATING", detail: `status ${response.status}` });
    const remoteTag = tagOf(request.from);
    if (remoteTag === null) return err({ code: "MISSING_FROM_TAG", detail: "request From has no tag" });
    const localTag = tagOf(response.to);
    if (localTag === null) return err({ code: "MISSING_TO_TAG", detail: "response To has no tag" });
    const contact = request.contact[0];
    if (contact === undefined) return err({ code: "MISSING_CONTACT", detail: "request has no Contact" });
    return ok(
      new Dialog(
        "UAS",
        {
          state: response.status < 200 ? "Early" : "Confirmed",
          id: { callId: request.callId, localTag, remoteTag },
          localUri: withoutTag(request.to),
          remoteUri: withoutTag(request.from),
          remoteTarget: contact.uri,
          localContact: response.contact[0] ?? null,
          routeSet: [...request.recordRoute],
          localSeq: null,
          remoteSeq: request.cseq.seq,
          secure: options.secure ?? request.uri.scheme === "sips",
        },
        options.initialLocalSeq ?? 1,
      ),
    );
  }

  /** The Map key of the dialog id; computed when asked, so a held call does not keep the joined string. */
  get key(): string {
    return dialogKey(this.id.callId, this.id.localTag, this.id.remoteTag);
  }

  /** The CSeq number for the next request we send (12.2.1.1), advancing the local sequence. */
  nextLocalSeq(): number {
    this.localSeq = this.localSeq === null ? this.initialLocalSeq : this.localSeq + 1;
    return this.localSeq;
  }

  /**
   * Checks and records a request received in this dialog (RFC 3261 12.2.2): a CSeq lower than the
   * remote sequence number is out of order (the caller answers 500); a target refresh request
   * replaces the remote target with its Contact. ACK and CANCEL reuse their INVITE's number.
   */
  receiveRequest(request: SipRequest): Result<void, DialogError> {
    const seq = request.cseq.seq;
    const method = request.method;
    if (method !== "ACK" && method !== "CANCEL") {
      if (this.remoteSeq !== null && seq < this.remoteSeq) {
        return err({ code: "CSEQ_OUT_OF_ORDER", detail: `CSeq ${seq} is lower than ${this.remoteSeq}` });
      }
      this.remoteSeq = seq;
    }
    if (TARGET_REFRESH.has(method)) {
      const contact = request.contact[0];
      if (contact !== undefined) this.remoteTarget = contact.uri;
    }
    if (method === "BYE") this.state = "Terminated";
    return ok(undefined);
  }

  /**
   * Applies a response to a request we sent in this dialog:
   * - UAC, early + 2xx to the INVITE: Confirmed, route set recomputed from the 2xx (13.2.2.4);
   * - a 2xx to a target refresh request (re-INVITE, UPDATE): remote target from its Contact (12.2.1.2);
   * - a non-2xx final to the dialog-creating INVITE ends an early dialog (12.3);
   * - 481 or 408 to any in-dialog request ends the dialog (12.2.1.2).
   */
  receiveResponse(request: SipRequest, response: SipResponse): void {
    if (this.state === "Terminated") return;
    const status = response.status;
    const creating = this.state === "Early" && request.method === "INVITE" && this.role === "UAC";
    if (status >= 200 && status < 300) {
      if (creating) {
        this.state = "Confirmed";
        const routeSet: NameAddr[] = [];
        for (let i = response.recordRoute.length - 1; i >= 0; i--) routeSet.push(response.recordRoute[i]!);
        this.routeSet = routeSet;
      }
      if (TARGET_REFRESH.has(request.method)) {
        const contact = response.contact[0];
        if (contact !== undefined) this.remoteTarget = contact.uri;
      }
    } else if (status < 200) {
      // Each reliable or unreliable provisional of an early dialog may carry the target so far.
      if (creating && status > 100) {
        const contact = response.contact[0];
        if (contact !== undefined) this.remoteTarget = contact.uri;
      }
    } else if (status === 481 || status === 408 || creating) {
      this.state = "Terminated";
    }
  }

  /**
   * Applies a response we send to a request of the peer: as UAS, a 2xx to the INVITE confirms an
   * early dialog and a non-2xx final ends it (12.3).
   */
  sendResponse(request: SipRequest, response: SipResponse): void {
    if (this.state !== "Early" || request.method !== "INVITE" || this.role !== "UAS") return;
    if (response.status >= 200 && response.status < 300) this.state = "Confirmed";
    else if (response.status >= 300) this.state = "Terminated";
  }

  /** Ends the dialog (BYE sent or received, or the call torn down). */
  terminate(): void {
    this.state = "Terminated";
  }
}
