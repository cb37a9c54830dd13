import { withParam } from "../message/index.ts";
import type { HeaderField, NameAddr, SipRequest, SipUri, Uri } from "../message/index.ts";
import type { Dialog } from "./dialog.ts";

/** Extra content of an in-dialog request. */
export interface InDialogRequestOptions {
  body?: Buffer;
  contentType?: string;
  headers?: HeaderField[];
  /** Default 70 (RFC 3261 8.1.1.6). */
  maxForwards?: number;
}

const EMPTY = Buffer.alloc(0);

function isSip(uri: Uri): uri is SipUri {
  return uri.scheme === "sip" || uri.scheme === "sips";
}

/** A loose router puts `lr` in its URI (RFC 3261 16.4, 19.1.1). */
export function isLooseRoute(route: NameAddr): boolean {
  return isSip(route.uri) && route.uri.params["lr"] !== undefined;
}

/** Table 1 of RFC 3261 19.1.1: a Request-URI carries neither URI headers nor a `method` parameter. */
function asRequestUri(uri: Uri): Uri {
  if (!isSip(uri)) return uri;
  if (uri.headers.length === 0 && uri.params["method"] === undefined) return uri;
  const params = { ...uri.params };
  delete params["method"];
  return { ...uri, params, headers: [] };
}

/**
 * Request-URI and Route of an in-dialog request (RFC 3261 12.2.1.1): with no route set, or a first
 * route with `lr`, the Request-URI is the remote target and the Route the route set; with a strict
 * router first, the Request-URI is that router and the remote target goes last in the Route.
 */
export function routeRequest(dialog: Dialog): { uri: Uri; route: NameAddr[] } {
  const routes = dialog.routeSet;
  const first = routes[0];
  if (first === undefined) return { uri: dialog.remoteTarget, route: [] };
  if (isLooseRoute(first)) return { uri: dialog.remoteTarget, route: routes.slice() };
  const route: NameAddr[] = [];
  for (let i = 1; i < routes.length; i++) route.push(routes[i]!);
  route.push({ displayName: null, uri: dialog.remoteTarget, params: {} });
  return { uri: asRequestUri(first.uri), route };
}

function assemble(dialog: Dialog, method: string, seq: number, options: InDialogRequestOptions, withContact: boolean): SipRequest {
  const { uri, route } = routeRequest(dialog);
  const from = withParam(dialog.localUri, "tag", dialog.id.localTag);
  const to = withParam(dialog.remoteUri, "tag", dialog.id.remoteTag);
  const body = options.body ?? EMPTY;
  return {
    kind: "request",
    method,
    uri,
    // The transaction layer adds the Via with a fresh branch; the transport fills sent-by.
    via: [],
    from,
    to,
    callId: dialog.id.callId,
    cseq: { seq, method },
    contact: withContact && dialog.localContact !== null ? [dialog.localContact] : [],
    contactWildcard: false,
    route,
    recordRoute: [],
    maxForwards: options.maxForwards ?? 70,
    contentType: body.length > 0 ? (options.contentType ?? null) : null,
    headers: options.headers ? [...options.headers] : [],
    body,
  };
}

/** Any request inside the dialog with the next local CSeq; target refresh methods carry our Contact. */
export function buildInDialogRequest(dialog: Dialog, method: string, options: InDialogRequestOptions = {}): SipRequest {
  const refresh = method === "INVITE" || method === "UPDATE" || method === "SUBSCRIBE" || method === "NOTIFY";
  return assemble(dialog, method, dialog.nextLocalSeq(), options, refresh);
}

const CREDENTIALS = new Set(["authorization", "proxy-authorization"]);

/**
 * The ACK for a 2xx (RFC 3261 13.2.2.4): built like any in-dialog request but with the CSeq number
 * of the INVITE it acknowledges and that INVITE's credentials; it does not advance the local CSeq.
 */
export function buildAck(dialog: Dialog, invite: SipRequest, options: InDialogRequestOptions = {}): SipRequest {
  const credentials = invite.headers.filter((h) => CREDENTIALS.has(h.name.toLowerCase()));
  const headers = options.headers ? [...credentials, ...options.headers] : credentials;
  return assemble(dialog, "ACK", invite.cseq.seq, { ...options, headers }, false);
}

/** BYE (RFC 3261 15.1.1). */
export function buildBye(dialog: Dialog, options: InDialogRequestOptions = {}): SipRequest {
  return buildInDialogRequest(dialog, "BYE", options);
}

/** re-INVITE (RFC 3261 14.1), carrying our Contact and usually a new offer. */
export function buildReInvite(dialog: Dialog, options: InDialogRequestOptions = {}): SipRequest {
  return buildInDialogRequest(dialog, "INVITE", options);
}

/** UPDATE (RFC 3311), a target refresh request. */
export function buildUpdate(dialog: Dialog, options: InDialogRequestOptions = {}): SipRequest {
  return buildInDialogRequest(dialog, "UPDATE", options);
}

/** INFO (RFC 6086), e.g. for SIP INFO DTMF. */
export function buildInfo(dialog: Dialog, options: InDialogRequestOptions = {}): SipRequest {
  return buildInDialogRequest(dialog, "INFO", options);
}
