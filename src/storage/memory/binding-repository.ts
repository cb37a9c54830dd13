import type { Binding, BindingRepository } from "../../ports/index.ts";
import { compareBindings } from "../binding-order.ts";

/** Registrar bindings in process memory: for tests and single-node setups that can lose them on restart. */
export class MemoryBindingRepository implements BindingRepository {
  // aor -> contact -> binding; the inner map makes removeAll and list one lookup.
  private readonly byAor = new Map<string, Map<string, Binding>>();

  async upsert(binding: Binding): Promise<void> {
    let contacts = this.byAor.get(binding.aor);
    if (contacts === undefined) {
      contacts = new Map();
      this.byAor.set(binding.aor, contacts);
    }
    // A copy, so a caller mutating its object later cannot change what is stored (as with SQL).
    contacts.set(binding.contact, { ...binding, receivedFrom: { ...binding.receivedFrom } });
  }

  async remove(aor: string, contact: string): Promise<boolean> {
    const contacts = this.byAor.get(aor);
    if (contacts === undefined) return false;
    const removed = contacts.delete(contact);
    if (contacts.size === 0) this.byAor.delete(aor);
    return removed;
  }

  async removeAll(aor: string): Promise<number> {
    const n = this.byAor.get(aor)?.size ?? 0;
    this.byAor.delete(aor);
    return n;
  }

  async list(aor: string, now: number): Promise<Binding[]> {
    const contacts = this.byAor.get(aor);
    if (contacts === undefined) return [];
    return [...contacts.values()]
      .filter((b) => b.expiresAt > now)
      .map((b) => ({ ...b, receivedFrom: { ...b.receivedFrom } }))
      .sort(compareBindings);
  }

  async purgeExpired(now: number): Promise<number> {
    let n = 0;
    for (const [aor, contacts] of this.byAor) {
      for (const [contact, b] of contacts) {
        if (b.expiresAt <= now) {
          contacts.delete(contact);
          n++;
        }
      }
      if (contacts.size === 0) this.byAor.delete(aor);
    }
    return n;
  }
}
