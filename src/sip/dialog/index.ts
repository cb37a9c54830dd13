export {
  Dialog,
  dialogKey,
  type DialogState,
  type DialogRole,
  type DialogId,
  type DialogError,
  type DialogErrorCode,
  type DialogOptions,
} from "./dialog.ts";
export { DialogStore } from "./dialog-store.ts";
export {
  buildInDialogRequest,
  buildAck,
  buildBye,
  buildReInvite,
  buildUpdate,
  buildInfo,
  routeRequest,
  isLooseRoute,
  type InDialogRequestOptions,
} from "./requests.ts";
