import type { SipRequest, SipResponse } from "../message/index.ts";
import { dialogKey, type Dialog } from "./dialog.ts";

/** Dialogs by id, with the lookups incoming messages need. */
export class DialogStore {
  private readonly dialogs = new Map<string, Dialog>();

  /** Adds or replaces a dialog. */
  add(dialog: Dialog): void {
    this.dialogs.set(dialog.key, dialog);
  }

  /** Removes a dialog; true when it was there. */
  remove(dialog: Dialog): boolean {
    return this.dialogs.delete(dialog.key);
  }

  /** The dialog with this id, if any. */
  get(callId: string, localTag: string, remoteTag: string): Dialog | undefined {
    return this.dialogs.get(dialogKey(callId, localTag, remoteTag));
  }

  /** The dialog a received request belongs to: our tag is its To tag, the peer's its From tag (12.2.2). */
  findForRequest(request: SipRequest): Dialog | undefined {
    const local = request.to.params["tag"];
    const remote = request.from.params["tag"];
    if (typeof local !== "string" || typeof remote !== "string") return undefined;
    return this.dialogs.get(dialogKey(request.callId, local, remote));
  }

  /** The dialog a received response belongs to: our tag is its From tag, the peer's its To tag. */
  findForResponse(response: SipResponse): Dialog | undefined {
    const local = response.from.params["tag"];
    const remote = response.to.params["tag"];
    if (typeof local !== "string" || typeof remote !== "string") return undefined;
    return this.dialogs.get(dialogKey(response.callId, local, remote));
  }

  /** Number of dialogs held, for leak checks. */
  size(): number {
    return this.dialogs.size;
  }

  /** Every dialog held. */
  values(): IterableIterator<Dialog> {
    return this.dialogs.values();
  }
}
