import { NO_PARAMS } from "./chars.ts";
import type { Params } from "./types.ts";

// Message values are immutable (see types.ts): these build the changed copy a caller puts back
// into the message's field. Each returns its argument itself when nothing would change, so an
// edit that changes nothing leaves the field clean for the serializer.

/** A copy of `params` with `name` (lower-case) set to `value`: in its place when present, last when not. */
export function paramsWith(params: Params, name: string, value: string | null): Params {
  if (params[name] === value && Object.hasOwn(params, name)) return params;
  // A key that would set the prototype is never a parameter (the parser drops it too).
  if (name === "__proto__") return params;
  const out: Record<string, string | null> = { ...params };
  out[name] = value;
  return out;
}

/** A copy of `params` without `name`. */
export function paramsWithout(params: Params, name: string): Params {
  if (!Object.hasOwn(params, name)) return params;
  // Copied without `delete`, which would turn the object into a slow dictionary.
  let out: Record<string, string | null> | null = null;
  for (const k in params) {
    if (k === name) continue;
    out ??= {};
    out[k] = params[k]!;
  }
  return out ?? NO_PARAMS;
}

/** A copy of a Via, name-addr or URI with parameter `name` set to `value`. */
export function withParam<T extends { readonly params: Params }>(holder: T, name: string, value: string | null): T {
  const params = paramsWith(holder.params, name, value);
  return params === holder.params ? holder : { ...holder, params };
}

/** A copy of a Via, name-addr or URI without parameter `name`. */
export function withoutParam<T extends { readonly params: Params }>(holder: T, name: string): T {
  const params = paramsWithout(holder.params, name);
  return params === holder.params ? holder : { ...holder, params };
}

/** A copy of `list` with the entry at `index` replaced by `item` (as ES2023 Array.prototype.with). */
export function withItem<T>(list: readonly T[], index: number, item: T): readonly T[] {
  if (!(index >= 0 && index < list.length)) throw new RangeError("index " + index + " outside a list of " + list.length);
  if (list[index] === item) return list;
  const out = list.slice();
  out[index] = item;
  return out;
}
