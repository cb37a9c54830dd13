// API failures carry a stable code (clients branch on it, never on the message) and, for bad
// input, one issue per offending field named by its path in the whole provisioning.

/** One thing wrong with a request, e.g. `{ path: "customers[0].dids[1]", message: "..." }`. */
export interface ApiIssue {
  readonly path: string;
  readonly message: string;
}

/** Stable codes of API errors. */
export type ApiErrorCode =
  | "VALIDATION_FAILED"
  | "PROVISIONING_INVALID"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "AUTH_REQUIRED"
  | "AUTH_INVALID_TOKEN"
  | "AUTH_FORBIDDEN"
  | "REQUEST_REJECTED"
  | "INTERNAL_ERROR";

/** An error the API answers with its status and code instead of a 500. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly issues: readonly ApiIssue[] = [],
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** The JSON body of every error answer. */
export interface ApiErrorBody {
  readonly error: { readonly code: ApiErrorCode; readonly message: string; readonly issues?: readonly ApiIssue[] };
}

/** Renders an HttpError as the body clients receive. */
export function errorBody(e: HttpError): ApiErrorBody {
  return { error: e.issues.length === 0 ? { code: e.code, message: e.message } : { code: e.code, message: e.message, issues: e.issues } };
}

/** Splits `customers[0].dids[1]: message` (compilePolicy's form) into an issue. */
export function issueFromText(text: string): ApiIssue {
  const m = /^([A-Za-z][\w.[\]]*): ([\s\S]*)$/.exec(text);
  return m === null ? { path: "", message: text } : { path: m[1] ?? "", message: m[2] ?? text };
}

/** `path: message` lines joined, the short form put in `message`. */
export function issuesMessage(issues: readonly ApiIssue[]): string {
  return issues.map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`)).join("; ");
}
