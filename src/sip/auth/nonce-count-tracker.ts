/**
 * Replay protection for qop responses (RFC 7616 3.4: the server SHOULD check that nc increases
 * for each request with the same nonce). Bounded: the least recently used nonces are forgotten.
 *
 * Forgetting a nonce must not reopen it to replay. So the tracker remembers the newest issue
 * time among the nonces it dropped, and refuses any nonce it does not know that was issued at or
 * before that time: eviction can only cost a client a re-challenge, never let a replay through.
 * Only nonces whose response verified are recorded, so a client without credentials cannot
 * flood the tracker to push others out.
 *
 * One tracker per process: in cluster mode a replay sent to another node is caught only by the
 * nonce's expiry. Sharing counts across nodes is the caller's business (a shared-state port).
 */

/** Options for a NonceCountTracker. */
export interface NonceCountTrackerOptions {
  /** Most nonces remembered at once; default 10 000. */
  maxNonces?: number;
}

interface Entry {
  lastNc: number;
  issuedAt: number;
}

/** Remembers the highest nonce-count seen per nonce and refuses anything not strictly higher. */
export class NonceCountTracker {
  private readonly maxNonces: number;
  // A Map iterates in insertion order; re-inserting on use keeps the least recently used first.
  private readonly entries = new Map<string, Entry>();
  private evictedIssuedUpTo = Number.NEGATIVE_INFINITY;

  constructor(options: NonceCountTrackerOptions = {}) {
    this.maxNonces = options.maxNonces ?? 10_000;
    if (!Number.isInteger(this.maxNonces) || this.maxNonces < 1) throw new RangeError("maxNonces must be a positive integer");
  }

  /**
   * Records `nc` for `nonce` if it is higher than any seen before and returns true; returns false
   * (a replay) otherwise. `issuedAt` is the nonce's issue time, used only for the eviction rule.
   */
  accept(nonce: string, nc: number, issuedAt: number): boolean {
    const entry = this.entries.get(nonce);
    if (entry === undefined) {
      if (issuedAt <= this.evictedIssuedUpTo) return false;
      this.entries.set(nonce, { lastNc: nc, issuedAt });
      this.evict();
      return true;
    }
    if (nc <= entry.lastNc) return false;
    entry.lastNc = nc;
    this.entries.delete(nonce);
    this.entries.set(nonce, entry);
    return true;
  }

  /** Number of nonces currently remembered. */
  get size(): number {
    return this.entries.size;
  }

  private evict(): void {
    while (this.entries.size > this.maxNonces) {
      const oldest = this.entries.entries().next();
      if (oldest.done === true) return;
      const [nonce, entry] = oldest.value;
      this.entries.delete(nonce);
      if (entry.issuedAt > this.evictedIssuedUpTo) this.evictedIssuedUpTo = entry.issuedAt;
    }
  }
}
