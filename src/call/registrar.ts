/**
 * The registrar (RFC 3261 section 10.3) for customer trunks in registration mode: a PBX REGISTERs
 * with digest credentials and we keep its Contacts, with the address it really sent from, so
 * inbound calls reach it behind NAT.
 *
 * Each AOR is `sip:<digest username>@<realm>`: we are a trunking server for one realm, so the host
 * a PBX writes in To (often our IP address) does not change which account it registers.
 */
import type { Clock, Timer } from "../lib/index.ts";
import type { Logger } from "../observability/index.ts";
import { securityEvent } from "../observability/index.ts";
import type { Binding, BindingRepository, BindingTransport } from "../ports/index.ts";
import type { CustomerTrunk, DigestCredentials, Policy } from "../domain/index.ts";
import { clientCertificateRefusal, storedHa1 } from "../domain/index.ts";
import {
  NonceCountTracker,
  canonicalHeaderName,
  parseCredentials,
  createChallenge,
  getHeader,
  parseUri,
  selectCredentials,
  serializeUri,
  verifyCredentials,
  type DigestAlgorithm,
  type HeaderField,
  type InboundContext,
  type NameAddr,
  type ServerTransaction,
  type SipRequest,
  type SipStack,
} from "../sip/index.ts";

/** Registrar settings; every field but realm and nonceSecret has a default. */
export interface RegistrarOptions {
  realm: string;
  /** Key of the stateless nonces; every node that must verify them shares it. */
  nonceSecret: string;
  /** Shortest registration accepted, seconds (423 below it). Default 60. */
  minExpires?: number;
  /** Longest registration granted, seconds; longer requests are cut down to it. Default 3600. */
  maxExpires?: number;
  /** Used when neither the Contact nor an Expires header asks. Default 3600. */
  defaultExpires?: number;
  /** Challenge algorithms in order of preference. Default SHA-256 then MD5 (RFC 8760 2.3). */
  algorithms?: DigestAlgorithm[];
  /** Most Contacts one AOR may hold; more are refused with 403 so one account cannot fill the store. Default 10. */
  maxBindingsPerAor?: number;
  /** How often expired bindings are deleted from the repository, ms. Default 60000; 0 disables. */
  purgeIntervalMs?: number;
}

/** What the registrar needs: the stack it serves on, the current policy, and where bindings live. */
export interface RegistrarDeps {
  stack: Pick<SipStack, "handle" | "response" | "respond">;
  policy: () => Policy;
  bindings: BindingRepository;
  clock: Clock;
  logger: Logger;
  options: RegistrarOptions;
  /** Told of every failed digest (the 403 path), with the source address and the username tried. */
  onAuthFailure?: (source: string, account: string | undefined) => void;
  /** The lock on a digest account (security.auth.accountLock), if in force: its REGISTERs get 403 unchecked. */
  accountLock?: (account: string) => { readonly reason: string } | undefined;
}

/** A running registrar. */
export interface Registrar {
  /** Current (unexpired) bindings of a customer's AORs, highest q first: where to deliver its inbound calls. */
  lookup(customerId: string): Promise<Binding[]>;
  /** The AOR a digest username registers under. */
  aorOf(username: string): string;
  /** Stops the purge timer; the REGISTER handler stays until the stack closes. */
  stop(): void;
}

interface Settings {
  readonly realm: string;
  readonly nonceSecret: string;
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly defaultExpires: number;
  readonly algorithms: DigestAlgorithm[];
  readonly maxBindingsPerAor: number;
  readonly purgeIntervalMs: number;
}

/** One Contact of the request, resolved to the interval we grant. */
interface ContactChange {
  readonly contact: string;
  readonly expires: number;
  readonly q: number | undefined;
}

/** A protocol outcome: the response to send instead of 200. */
interface Refuse {
  readonly status: number;
  readonly reason?: string;
  readonly headers?: HeaderField[];
}

const AUTHORIZATION = canonicalHeaderName("Authorization");

function settingsOf(o: RegistrarOptions): Settings {
  const s: Settings = {
    realm: o.realm,
    nonceSecret: o.nonceSecret,
    minExpires: o.minExpires ?? 60,
    maxExpires: o.maxExpires ?? 3600,
    defaultExpires: o.defaultExpires ?? 3600,
    algorithms: o.algorithms ?? ["SHA-256", "MD5"],
    maxBindingsPerAor: o.maxBindingsPerAor ?? 10,
    purgeIntervalMs: o.purgeIntervalMs ?? 60_000,
  };
  if (s.nonceSecret.length === 0) throw new Error("registrar nonceSecret must not be empty");
  if (s.minExpires > s.maxExpires) throw new Error("registrar minExpires must not exceed maxExpires");
  return s;
}

/** Parses a delta-seconds value (RFC 3261 25.1); anything else is treated as absent. */
function deltaSeconds(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const t = value.trim();
  if (!/^\d{1,10}$/.test(t)) return undefined;
  // RFC 3261 20.19: values above 2^32-1 are taken as 2^32-1; the max cut applies afterwards anyway.
  return Math.min(Number(t), 0xffffffff);
}

function qValue(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

function transportOf(context: InboundContext): BindingTransport {
  return context.protocol === "UDP" ? "udp" : context.protocol === "TCP" ? "tcp" : "tls";
}

/** Contact URI without header parameters, so a refresh finds the binding it refreshes. */
function contactKey(na: NameAddr): string {
  return serializeUri(na.uri);
}

/** Creates the registrar and registers it as the stack's REGISTER handler. */
export function createRegistrar(deps: RegistrarDeps): Registrar {
  const { stack, bindings, clock } = deps;
  const log = deps.logger.child({ component: "registrar" });
  const cfg = settingsOf(deps.options);
  const nonceCounts = new NonceCountTracker();
  // REGISTERs of one AOR are applied one at a time (RFC 3261 10.3: "in the order that they are
  // received"); the repository is asynchronous, so without this two requests could interleave.
  const queues = new Map<string, Promise<void>>();

  const aorOf = (username: string): string => `sip:${username}@${cfg.realm}`;

  /** Registration-mode customer owning a digest username, with the matching credentials. */
  const owner = (username: string): { customer: CustomerTrunk; credentials: DigestCredentials } | undefined => {
    for (const customer of deps.policy().customers.values()) {
      if (customer.mode.kind !== "registration") continue;
      const credentials = customer.identification.credentials.find((c) => c.username === username);
      if (credentials !== undefined) return { customer, credentials };
    }
    return undefined;
  };

  const ha1Of = (username: string, algorithm: DigestAlgorithm): { ha1: string } | undefined => {
    const found = owner(username);
    if (found === undefined) return undefined;
    // The stored hash of the response's algorithm (customers keep no password), in our realm only.
    const ha1 = storedHa1(found.credentials, username, cfg.realm, algorithm);
    return ha1 === undefined ? undefined : { ha1 };
  };

  const send = (req: SipRequest, tx: ServerTransaction, status: number, reason?: string, headers: HeaderField[] = []): void => {
    stack.respond(tx, stack.response(req, status, reason, headers));
  };

  const challenge = (req: SipRequest, tx: ServerTransaction, stale: boolean): void => {
    const values = createChallenge({ realm: cfg.realm, secret: cfg.nonceSecret, now: clock.wallNow(), algorithms: cfg.algorithms, stale });
    send(
      req,
      tx,
      401,
      undefined,
      values.map((value) => ({ name: "WWW-Authenticate", value })),
    );
  };

  /** RFC 3261 10.3 step 3: authenticates; returns the username, or undefined once answered. */
  const authenticate = (req: SipRequest, tx: ServerTransaction, context: InboundContext): string | undefined => {
    const values = req.headers.filter((h) => canonicalHeaderName(h.name) === AUTHORIZATION).map((h) => h.value);
    // Unknown and known users alike get this challenge, so a scanner cannot tell accounts apart.
    const header = selectCredentials(values, cfg.realm) ?? values[0];
    if (header === undefined) {
      challenge(req, tx, false);
      return undefined;
    }
    const source = `${context.remote.address}:${context.remote.port}`;
    const tried = parseCredentials(header);
    const lock = tried.ok ? deps.accountLock?.(tried.value.username) : undefined;
    if (lock !== undefined && tried.ok) {
      // Refused without checking the response: a right guess during the lock must not be told apart.
      securityEvent(log, { source, reason: "account-locked", detail: lock.reason, account: tried.value.username, method: "REGISTER", callId: req.callId });
      send(req, tx, 403);
      return undefined;
    }
    const result = verifyCredentials({
      // Parsed once: the lock check above read it already.
      header: tried.ok ? tried.value : header,
      method: req.method,
      realm: cfg.realm,
      secret: cfg.nonceSecret,
      now: clock.wallNow(),
      lookup: ha1Of,
      nonceCounts,
    });
    if (result.ok) return result.username;
    switch (result.reason) {
      case "stale":
        challenge(req, tx, true);
        return undefined;
      case "wrong-realm":
      case "bad-nonce":
      case "replay":
        // Not proof of a wrong password: a nonce from before a restart with a new secret, another
        // realm, or a nonce already used. A fresh challenge lets an honest client recover.
        log.info({ source, reason: result.reason, callId: req.callId }, "REGISTER re-challenged");
        challenge(req, tx, false);
        return undefined;
      case "unknown-scheme":
        // RFC 4475 3.3.7: credentials in a scheme we do not know are no credentials; challenge
        // with the schemes we do know.
        challenge(req, tx, false);
        return undefined;
      case "malformed":
        send(req, tx, 400, "Malformed Authorization");
        return undefined;
      default:
        // Same answer for an unknown user and a wrong password (RFC 3261 22.4 leaves it to us; telling them apart helps guessing).
        securityEvent(log, { source, reason: "auth-failed", detail: result.reason, ...(result.username !== undefined ? { account: result.username } : {}), method: "REGISTER" });
        deps.onAuthFailure?.(context.remote.address, result.username);
        send(req, tx, 403);
        return undefined;
    }
  };

  /** RFC 3261 10.3 step 6-7 inputs: the interval granted to each Contact, or a refusal. */
  const contactChanges = (req: SipRequest): ContactChange[] | Refuse => {
    const headerExpires = deltaSeconds(getHeader(req, "Expires"));
    const out: ContactChange[] = [];
    for (const na of req.contact) {
      const asked = deltaSeconds(na.params["expires"]) ?? headerExpires ?? cfg.defaultExpires;
      // RFC 3261 10.3 step 7: 423 only for a non-zero interval below our minimum (and below an hour).
      if (asked > 0 && asked < 3600 && asked < cfg.minExpires) {
        return { status: 423, headers: [{ name: "Min-Expires", value: String(cfg.minExpires) }] };
      }
      out.push({ contact: contactKey(na), expires: Math.min(asked, cfg.maxExpires), q: qValue(na.params["q"]) });
    }
    return out;
  };

  /** Step 7: a binding last set by this Call-ID with a CSeq not below ours means the request is old. */
  const outOfOrder = (existing: Binding | undefined, req: SipRequest): boolean =>
    existing !== undefined && existing.callId === req.callId && req.cseq.seq <= existing.cseq;

  /** Applies the request to the AOR's bindings; returns a refusal or null for 200. */
  const apply = async (req: SipRequest, aor: string, context: InboundContext): Promise<Refuse | null> => {
    const now = clock.wallNow();
    if (req.contactWildcard) {
      // RFC 3261 10.3 step 6: `*` only with Expires: 0 and no other Contact.
      if (deltaSeconds(getHeader(req, "Expires")) !== 0 || req.contact.length > 0) return { status: 400, reason: "Invalid Contact *" };
      const current = await bindings.list(aor, now);
      if (current.some((b) => outOfOrder(b, req))) return { status: 500, reason: "Out Of Order CSeq" };
      await bindings.removeAll(aor);
      return null;
    }
    if (req.contact.length === 0) return null;
    const changes = contactChanges(req);
    if (!Array.isArray(changes)) return changes;
    const current = new Map((await bindings.list(aor, now)).map((b) => [b.contact, b]));
    // Checked for every Contact before anything changes: the request succeeds or fails as a whole.
    if (changes.some((c) => outOfOrder(current.get(c.contact), req))) return { status: 500, reason: "Out Of Order CSeq" };
    const after = new Set(current.keys());
    for (const c of changes) {
      if (c.expires === 0) after.delete(c.contact);
      else after.add(c.contact);
    }
    if (after.size > cfg.maxBindingsPerAor) return { status: 403, reason: "Too Many Contacts" };
    const receivedFrom = { address: context.remote.address, port: context.remote.port, transport: transportOf(context) };
    for (const c of changes) {
      if (c.expires === 0) {
        if (current.has(c.contact)) await bindings.remove(aor, c.contact);
        continue;
      }
      await bindings.upsert({ aor, contact: c.contact, expiresAt: now + c.expires * 1000, receivedFrom, callId: req.callId, cseq: req.cseq.seq, q: c.q });
    }
    return null;
  };

  /** Step 8: 200 listing every current binding with the seconds it has left. */
  const answer = async (req: SipRequest, tx: ServerTransaction, aor: string): Promise<void> => {
    const now = clock.wallNow();
    const current = await bindings.list(aor, now);
    const res = stack.response(req, 200, undefined, [{ name: "Date", value: new Date(now).toUTCString() }]);
    for (const b of current) {
      const uri = parseUri(b.contact);
      if (uri === null) continue;
      const params: Record<string, string | null> = { expires: String(Math.max(0, Math.ceil((b.expiresAt - now) / 1000))) };
      if (b.q !== undefined) params["q"] = String(b.q);
      res.contact = [...res.contact, { displayName: null, uri, params }];
    }
    stack.respond(tx, res);
  };

  const serialize = (aor: string, work: () => Promise<void>): Promise<void> => {
    const previous = queues.get(aor) ?? Promise.resolve();
    const next = previous.then(work, work);
    queues.set(aor, next);
    void next.finally(() => {
      if (queues.get(aor) === next) queues.delete(aor);
    });
    return next;
  };

  const handleRegister = async (req: SipRequest, tx: ServerTransaction, context: InboundContext): Promise<void> => {
    const username = authenticate(req, tx, context);
    if (username === undefined) return;
    const found = owner(username);
    if (found === undefined) {
      // The customer was removed or changed mode between verification and now.
      send(req, tx, 403);
      return;
    }
    // Mutual TLS: a customer that requires a client certificate registers only over TLS with one.
    const mtls = clientCertificateRefusal(found.customer, context.tls);
    if (mtls !== null) {
      securityEvent(log, { source: `${context.remote.address}:${context.remote.port}`, account: username, reason: "mtls-required", detail: mtls.reason, method: "REGISTER" });
      send(req, tx, 403);
      return;
    }
    // Step 4-5: an account registers its own AOR only; the To user must be the digest username.
    const to = req.to.uri;
    if ((to.scheme !== "sip" && to.scheme !== "sips") || !("user" in to) || to.user !== username) {
      securityEvent(log, { source: `${context.remote.address}:${context.remote.port}`, account: username, reason: "aor-forbidden", method: "REGISTER" });
      send(req, tx, 403, "Forbidden AOR");
      return;
    }
    const aor = aorOf(username);
    await serialize(aor, async () => {
      const refused = await apply(req, aor, context);
      if (refused !== null) {
        send(req, tx, refused.status, refused.reason, refused.headers);
        return;
      }
      log.debug({ aor, customer: found.customer.id, contacts: req.contact.length, callId: req.callId }, "REGISTER accepted");
      await answer(req, tx, aor);
    });
  };

  stack.handle("REGISTER", (req, tx, context) => {
    handleRegister(req, tx, context).catch((error: unknown) => {
      // RFC 3261 10.3: a failed commit is a 500; the client retries later.
      log.error({ err: error, callId: req.callId }, "REGISTER failed");
      if (tx.lastResponse === null || tx.lastResponse.status < 200) send(req, tx, 500);
    });
  });

  let purgeTimer: Timer | null = null;
  let stopped = false;
  const schedulePurge = (): void => {
    // A purge in flight reschedules from its finally, so the flag (not just cancel) ends the chain.
    if (stopped || cfg.purgeIntervalMs <= 0) return;
    purgeTimer = clock.schedule(cfg.purgeIntervalMs, () => {
      bindings
        .purgeExpired(clock.wallNow())
        .catch((error: unknown) => log.warn({ err: error }, "purging expired bindings failed"))
        .finally(schedulePurge);
    });
  };
  schedulePurge();

  return {
    async lookup(customerId) {
      const customer = deps.policy().customers.get(customerId);
      if (customer === undefined || customer.mode.kind !== "registration") return [];
      const now = clock.wallNow();
      const lists = await Promise.all(customer.identification.credentials.map((c) => bindings.list(aorOf(c.username), now)));
      return lists.flat().sort((a, b) => (b.q ?? 1) - (a.q ?? 1));
    },
    aorOf,
    stop() {
      purgeTimer?.cancel();
      purgeTimer = null;
      stopped = true;
    },
  };
}
