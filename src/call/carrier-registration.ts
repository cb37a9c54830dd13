/**
 * Outbound registration (RFC 3261 10.2) with carriers that want to know where to send our DIDs'
 * calls: REGISTER with the carrier's credentials, refresh before the granted interval runs out,
 * back off exponentially on failure, unregister on stop.
 */
import { newCallId, newTag, type Clock, type Timer } from "../lib/index.ts";
import type { Logger } from "../observability/index.ts";
import type { CarrierTrunk } from "../domain/index.ts";
import {
  DigestClientError,
  answerChallenge,
  createRequest,
  getHeader,
  parseChallenge,
  parseUri,
  pickChallenge,
  resolveTarget,
  serializeUri,
  type HeaderField,
  type SendTarget,
  type SipResponse,
  type SipStack,
  type SipUri,
} from "../sip/index.ts";

/** Where one carrier's registration stands. */
export type RegistrationStatus = "pending" | "registered" | "failed";

/** One carrier's registration, as state() reports it. */
export interface RegistrationState {
  readonly carrierId: string;
  readonly aor: string;
  readonly status: RegistrationStatus;
  /** Wall-clock epoch ms when the registrar's binding runs out; null when never registered. */
  readonly expiresAt: number | null;
  /** Last failure in words an operator can act on (never a credential); null after success. */
  readonly lastError: string | null;
  /** Failures in a row since the last success. */
  readonly failures: number;
  /** Monotonic clock time of the next REGISTER (refresh or retry); null when none is planned. */
  readonly nextAttemptAt: number | null;
}

/** Resolves the registrar URI to next hops (RFC 3263); tests may pass their own. */
export type RegistrarResolver = (uri: SipUri) => Promise<SendTarget[]>;

/** Timing and addressing of outbound registrations. */
export interface CarrierRegistrationOptions {
  /** Our Contact, e.g. `sip:trunkline@203.0.113.5:5060`: where the carrier sends calls. */
  contactUri: string;
  /** Refresh at this fraction of the granted interval. Default 0.85. */
  refreshRatio?: number;
  /** First retry delay after a failure, ms. Default 5000. */
  retryBaseMs?: number;
  /** Longest retry delay, ms. Default 300000. */
  retryMaxMs?: number;
  /** Random source in [0, 1) for retry jitter. Default Math.random. */
  random?: () => number;
  /** How long stop() waits for unregistrations, ms. Default 5000. */
  stopTimeoutMs?: number;
  resolve?: RegistrarResolver;
}

/** What carrier registration needs. */
export interface CarrierRegistrationDeps {
  stack: { readonly transactions: Pick<SipStack["transactions"], "sendRequest"> };
  /** Read by start() and sync(); carriers without `registration` are ignored. */
  carriers: () => ReadonlyArray<CarrierTrunk>;
  clock: Clock;
  logger: Logger;
  options: CarrierRegistrationOptions;
}

/** Running outbound registrations. */
export interface CarrierRegistration {
  /** Registers every carrier that asks for it. */
  start(): void;
  /** Re-reads the carriers: starts new registrations, unregisters removed or changed ones. */
  sync(): Promise<void>;
  /** Per-carrier state. */
  state(): RegistrationState[];
  /** Unregisters (Expires: 0) every registered carrier and stops all timers. */
  stop(): Promise<void>;
}

interface Registration {
  readonly carrier: CarrierTrunk;
  /** Carrier settings this registration was built from, to notice changes in sync(). */
  readonly fingerprint: string;
  readonly aor: SipUri;
  readonly requestUri: SipUri;
  readonly callId: string;
  readonly fromTag: string;
  cseq: number;
  status: RegistrationStatus;
  expiresAt: number | null;
  lastError: string | null;
  failures: number;
  timer: Timer | null;
  nextAttemptAt: number | null;
  /** Last challenge answered, reused with a rising nc so refreshes need no extra round trip. */
  challenge: { header: "Authorization" | "Proxy-Authorization"; value: string; nc: number } | null;
  stopped: boolean;
}

type Outcome =
  | { readonly ok: true; readonly grantedSeconds: number }
  | { readonly ok: false; readonly error: string; readonly retryAfterSeconds?: number };

const defaultResolver: RegistrarResolver = (uri) => resolveTarget(uri);

function fingerprintOf(c: CarrierTrunk): string {
  return JSON.stringify([c.registration, c.credentials?.username, c.credentials?.password, c.credentials?.ha1]);
}

function deltaSeconds(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null || !/^\s*\d{1,10}\s*$/.test(value)) return undefined;
  return Number(value.trim());
}

/** Creates outbound registrations for the carriers that have `registration`. */
export function createCarrierRegistration(deps: CarrierRegistrationDeps): CarrierRegistration {
  const o = deps.options;
  const refreshRatio = o.refreshRatio ?? 0.85;
  const retryBaseMs = o.retryBaseMs ?? 5_000;
  const retryMaxMs = o.retryMaxMs ?? 300_000;
  const random = o.random ?? Math.random;
  const stopTimeoutMs = o.stopTimeoutMs ?? 5_000;
  const resolve = o.resolve ?? defaultResolver;
  const contact = parseUri(o.contactUri);
  if (contact === null) throw new Error("carrier registration contactUri is not a URI");
  const { clock } = deps;
  const log = deps.logger.child({ component: "carrier-registration" });
  const regs = new Map<string, Registration>();

  const build = (carrier: CarrierTrunk): Registration | string => {
    const r = carrier.registration;
    if (r === undefined) return "no registration";
    const registrar = parseUri(r.registrar);
    if (registrar === null || !("host" in registrar)) return `registrar ${r.registrar} is not a SIP URI`;
    // RFC 3261 10.2: the Request-URI names the registrar's domain, without userinfo.
    const requestUri: SipUri = { ...registrar, user: null, password: null, headers: [] };
    const aorText = r.aor ?? `sip:${carrier.credentials?.username ?? "trunkline"}@${registrar.host}`;
    const aor = parseUri(aorText);
    if (aor === null || !("host" in aor)) return `aor ${aorText} is not a SIP URI`;
    return {
      carrier,
      fingerprint: fingerprintOf(carrier),
      aor,
      requestUri,
      // RFC 3261 10.2.4: one Call-ID for every REGISTER of this boot, CSeq rising, so the
      // registrar can order our refreshes.
      callId: newCallId(),
      fromTag: newTag(),
      cseq: 0,
      status: "pending",
      expiresAt: null,
      lastError: null,
      failures: 0,
      timer: null,
      nextAttemptAt: null,
      challenge: null,
      stopped: false,
    };
  };

  const authorize = (reg: Registration, res: SipResponse): { header: "Authorization" | "Proxy-Authorization"; value: string } | string => {
    const creds = reg.carrier.credentials;
    if (creds === undefined || creds.password === undefined) return `challenged (${res.status}) but carrier has no password`;
    const header = res.status === 407 ? "Proxy-Authorization" : "Authorization";
    const wanted = res.status === 407 ? "proxy-authenticate" : "www-authenticate";
    // Raw header lines: digest values contain commas, so list splitting would cut them apart.
    const values = res.headers.filter((h) => h.name.toLowerCase() === wanted).map((h) => h.value);
    const chosen = pickChallenge(values);
    if (chosen === undefined) return `challenged (${res.status}) with no digest challenge we can answer`;
    try {
      const value = answerChallenge({ challenge: chosen, method: "REGISTER", uri: serializeUri(reg.requestUri), username: creds.username, password: creds.password });
      reg.challenge = { header, value: chosen, nc: 1 };
      return { header, value };
    } catch (error) {
      return error instanceof DigestClientError ? `cannot answer challenge: ${error.code}` : "cannot answer challenge";
    }
  };

  /** Preemptive credentials from the last challenge, so a refresh usually takes one round trip. */
  const reuseChallenge = (reg: Registration): HeaderField | null => {
    const c = reg.challenge;
    const creds = reg.carrier.credentials;
    if (c === null || creds?.password === undefined) return null;
    c.nc++;
    try {
      const value = answerChallenge({ challenge: c.value, method: "REGISTER", uri: serializeUri(reg.requestUri), username: creds.username, password: creds.password, nc: c.nc });
      return { name: c.header, value };
    } catch {
      return null;
    }
  };

  const sendOnce = async (reg: Registration, expires: number, auth: HeaderField | null): Promise<SipResponse> => {
    const hops = await resolve(reg.requestUri);
    const hop = hops[0];
    if (hop === undefined) throw new Error(`registrar ${serializeUri(reg.requestUri)} resolves to nothing`);
    reg.cseq++;
    const headers: HeaderField[] = [{ name: "Expires", value: String(expires) }];
    if (auth !== null) headers.push(auth);
    const req = createRequest({
      method: "REGISTER",
      uri: reg.requestUri,
      from: { displayName: null, uri: reg.aor, params: { tag: reg.fromTag } },
      to: { displayName: null, uri: reg.aor, params: {} },
      callId: reg.callId,
      cseq: reg.cseq,
      contact: [{ displayName: null, uri: contact, params: {} }],
      headers,
    });
    return new Promise((settle) => {
      deps.stack.transactions.sendRequest(req, hop, { onFinal: (res) => settle(res) });
    });
  };

  /** One registration attempt: answers up to one fresh challenge and one 423. */
  const attempt = async (reg: Registration, expires: number): Promise<Outcome> => {
    let requested = expires;
    let auth = reuseChallenge(reg);
    let answeredFresh = false;
    let intervalRaised = false;
    for (;;) {
      let res: SipResponse;
      try {
        res = await sendOnce(reg, requested, auth);
      } catch (error) {
        return { ok: false, error: `cannot reach registrar: ${error instanceof Error ? error.message : String(error)}` };
      }
      if (res.status >= 200 && res.status < 300) {
        if (requested === 0) return { ok: true, grantedSeconds: 0 };
        // RFC 3261 10.2.4: the interval granted is the expires of our Contact in the 200.
        const ours = res.contact.find((c) => serializeUri(c.uri) === serializeUri(contact));
        const granted = deltaSeconds(ours?.params["expires"]) ?? deltaSeconds(getHeader(res, "Expires")) ?? requested;
        return { ok: true, grantedSeconds: granted };
      }
      if (res.status === 401 || res.status === 407) {
        const stale = res.headers.some((h) => {
          const n = h.name.toLowerCase();
          if (n !== "www-authenticate" && n !== "proxy-authenticate") return false;
          const parsed = parseChallenge(h.value);
          return parsed.ok && parsed.value.stale;
        });
        // A second non-stale challenge after fresh credentials means they were refused.
        if (answeredFresh && !stale) {
          reg.challenge = null;
          return { ok: false, error: `credentials refused (${res.status})` };
        }
        const answer = authorize(reg, res);
        if (typeof answer === "string") return { ok: false, error: answer };
        auth = { name: answer.header, value: answer.value };
        answeredFresh = true;
        continue;
      }
      if (res.status === 423 && !intervalRaised) {
        // RFC 3261 10.2.8: retry with at least Min-Expires.
        const min = deltaSeconds(getHeader(res, "Min-Expires"));
        if (min === undefined || min <= requested) return { ok: false, error: "423 without a usable Min-Expires" };
        requested = min;
        intervalRaised = true;
        auth = reuseChallenge(reg);
        continue;
      }
      const retryAfter = deltaSeconds(getHeader(res, "Retry-After"));
      return { ok: false, error: `registrar answered ${res.status} ${res.reason}`, ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) };
    }
  };

  const schedule = (reg: Registration, delayMs: number): void => {
    reg.timer?.cancel();
    reg.nextAttemptAt = clock.now() + delayMs;
    reg.timer = clock.schedule(delayMs, () => {
      reg.timer = null;
      reg.nextAttemptAt = null;
      void register(reg);
    });
  };

  const register = async (reg: Registration): Promise<void> => {
    if (reg.stopped) return;
    const expires = reg.carrier.registration?.expiresSeconds ?? 3600;
    const outcome = await attempt(reg, expires);
    if (reg.stopped) return;
    const id = reg.carrier.id;
    if (outcome.ok) {
      const was = reg.status;
      reg.status = "registered";
      reg.failures = 0;
      reg.lastError = null;
      reg.expiresAt = clock.wallNow() + outcome.grantedSeconds * 1000;
      if (was !== "registered") log.info({ carrier: id, expires: outcome.grantedSeconds }, "registered with carrier");
      // Refresh ahead of expiry, but never sooner than a second (a registrar granting 0 or 1 s would spin us).
      schedule(reg, Math.max(1_000, outcome.grantedSeconds * 1000 * refreshRatio));
      return;
    }
    reg.failures++;
    reg.status = "failed";
    reg.lastError = outcome.error;
    // RFC 5626 4.5 style: exponential, capped, randomized between half and all of the delay.
    const exp = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(reg.failures - 1, 30));
    let delay = Math.round(exp * (0.5 + 0.5 * random()));
    if (outcome.retryAfterSeconds !== undefined) delay = Math.max(delay, outcome.retryAfterSeconds * 1000);
    log.warn({ carrier: id, error: outcome.error, failures: reg.failures, retryInMs: delay }, "carrier registration failed");
    schedule(reg, delay);
  };

  const unregister = async (reg: Registration): Promise<void> => {
    reg.stopped = true;
    reg.timer?.cancel();
    reg.timer = null;
    reg.nextAttemptAt = null;
    // A failed refresh may still leave a live binding at the carrier: remove it too.
    if (reg.expiresAt === null || reg.expiresAt <= clock.wallNow()) return;
    const done = attempt(reg, 0).then((outcome) => {
      if (!outcome.ok) log.warn({ carrier: reg.carrier.id, error: outcome.error }, "carrier unregistration failed");
      else log.info({ carrier: reg.carrier.id }, "unregistered from carrier");
    });
    let timer: Timer | null = null;
    const timeout = new Promise<void>((r) => {
      timer = clock.schedule(stopTimeoutMs, r);
    });
    await Promise.race([done, timeout]);
    (timer as Timer | null)?.cancel();
    reg.status = "pending";
    reg.expiresAt = null;
  };

  const sync = async (): Promise<void> => {
    const wanted = new Map(deps.carriers().filter((c) => c.registration !== undefined).map((c) => [c.id, c]));
    const leaving: Registration[] = [];
    for (const [id, reg] of regs) {
      const c = wanted.get(id);
      if (c === undefined || fingerprintOf(c) !== reg.fingerprint) {
        leaving.push(reg);
        regs.delete(id);
      }
    }
    await Promise.all(leaving.map(unregister));
    for (const [id, carrier] of wanted) {
      if (regs.has(id)) continue;
      const reg = build(carrier);
      if (typeof reg === "string") {
        log.error({ carrier: id, error: reg }, "carrier registration misconfigured");
        continue;
      }
      regs.set(id, reg);
      void register(reg);
    }
  };

  return {
    start() {
      void sync();
    },
    sync,
    state() {
      return [...regs.values()].map((r) => ({
        carrierId: r.carrier.id,
        aor: serializeUri(r.aor),
        status: r.status,
        expiresAt: r.expiresAt,
        lastError: r.lastError,
        failures: r.failures,
        nextAttemptAt: r.nextAttemptAt,
      }));
    },
    async stop() {
      const all = [...regs.values()];
      regs.clear();
      await Promise.all(all.map(unregister));
    },
  };
}
