/** Transports a binding can have been learnt over (RFC 3261 `transport` values, lower case). */
export type BindingTransport = "udp" | "tcp" | "tls" | "ws" | "wss";

/**
 * One registrar binding (RFC 3261 section 10.3): an address-of-record bound to a contact URI until
 * `expiresAt`. The registrar normalizes `aor` and `contact` before storing, so repositories compare
 * them as exact strings.
 */
export interface Binding {
  /** Canonical address-of-record, e.g. `sip:alice@pbx.example.com`. */
  readonly aor: string;
  /** The Contact URI, without header parameters such as `expires` or `q`. */
  readonly contact: string;
  /** Wall-clock expiry in epoch milliseconds. */
  readonly expiresAt: number;
  /** Where the REGISTER actually came from, so requests reach a PBX behind NAT (RFC 3581, RFC 5626 flow). */
  readonly receivedFrom: {
    readonly address: string;
    readonly port: number;
    readonly transport: BindingTransport;
  };
  /** Call-ID and CSeq of the REGISTER that last refreshed the binding: step 7 of 10.3 rejects older ones. */
  readonly callId: string;
  readonly cseq: number;
  /** Contact `q` preference from 0 to 1; absent means none was given (sorted as 1.0). */
  readonly q?: number | undefined;
}

/**
 * Registrar bindings. Asynchronous because shared implementations (PostgreSQL, Redis in cluster
 * mode) are; every implementation passes the same contract tests (src/storage/binding-repository.test.ts).
 * Times are passed in, never read from a clock here, so expiry is exact under a fake clock.
 */
export interface BindingRepository {
  /** Adds the binding or replaces the one with the same (aor, contact). */
  upsert(binding: Binding): Promise<void>;
  /** Removes one binding; resolves true if it existed. */
  remove(aor: string, contact: string): Promise<boolean>;
  /** Removes every binding of an AOR (`Contact: *`); resolves how many went. */
  removeAll(aor: string): Promise<number>;
  /**
   * The AOR's bindings not yet expired at `now` (expiresAt > now), highest q first, then by contact
   * so the order is the same in every implementation.
   */
  list(aor: string, now: number): Promise<Binding[]>;
  /** Deletes every binding expired at `now` (expiresAt <= now); resolves how many went. */
  purgeExpired(now: number): Promise<number>;
}
