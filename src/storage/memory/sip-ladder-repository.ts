import type { SipLadderMessage, SipLadderRepository } from "../../ports/index.ts";

/** SIP ladders in a Map, for tests and embedders without a database. */
export class MemorySipLadderRepository implements SipLadderRepository {
  private readonly ladders = new Map<string, { readonly savedAt: number; readonly messages: readonly SipLadderMessage[] }>();

  async save(callId: string, savedAt: number, messages: readonly SipLadderMessage[]): Promise<void> {
    // Copied, so a caller reusing its array cannot change what was saved.
    this.ladders.set(callId, { savedAt, messages: messages.map((m) => ({ ...m, raw: Uint8Array.from(m.raw) })) });
  }

  async get(callId: string): Promise<SipLadderMessage[] | undefined> {
    const ladder = this.ladders.get(callId);
    return ladder === undefined ? undefined : [...ladder.messages];
  }

  async prune(before: number): Promise<number> {
    let removed = 0;
    for (const [id, ladder] of this.ladders) {
      if (ladder.savedAt < before) {
        this.ladders.delete(id);
        removed++;
      }
    }
    return removed;
  }
}
