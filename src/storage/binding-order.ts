import type { Binding } from "../ports/index.ts";

/** The order list() promises: highest q first (absent q counts as 1.0), then contact, by code unit. */
export function compareBindings(a: Binding, b: Binding): number {
  const dq = (b.q ?? 1) - (a.q ?? 1);
  if (dq !== 0) return dq;
  return a.contact < b.contact ? -1 : a.contact > b.contact ? 1 : 0;
}
