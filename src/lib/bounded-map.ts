/**
 * Sets key to value as the most recently used entry, then evicts the least recently used entries
 * beyond max (a Map iterates in insertion order). Returns how many were evicted. Tables keyed by
 * source address use it so a flood from spoofed sources cannot grow memory without bound.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): number {
  map.delete(key);
  map.set(key, value);
  let evicted = 0;
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done === true) break;
    map.delete(oldest.value);
    evicted++;
  }
  return evicted;
}
