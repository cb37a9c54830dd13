import {
  checkCallerId,
  checkDestination,
  formatForCarrier,
  lookupInboundDid,
  numberFromUri,
  planDelivery,
  planRoute,
  refusal,
  storedHa1,
  type CarrierTrunk,
  type CustomerTrunk,
  type DigestCredentials,
  type E164,
  type IdentifyDecision,
  type NumberingPlan,
  type Policy,
  type Refusal,
} from "../domain/index.ts";
import type { Clock } from "../lib/index.ts";
import type { BindingRepository } from "../ports/index.ts";
import {
  getHeaders,
  parseCredentials,
  parseUri,
  selectCredentials,
  serializeUri,
  verifyCredentials,
  type InboundContext,
  type NameAddr,
  type NonceCountTracker,
  type SendTarget,
  type SipRequest,
  type SipUri,
  type TransportProtocol,
} from "../sip/index.ts";
import type { Admitted } from "./b2bua.ts";
import type { CdrDraft } from "./cdr.ts";
import type { ChannelHold, ChannelTable } from "./channels.ts";
import type { FraudEngine } from "./fraud-engine.ts";
import type { CallTarget } from "./target.ts";

/** What a pipeline decided: admit with targets, refuse with a SIP answer, or challenge for credentials. */
export type PipelineOutcome =
  | { readonly kind: "admit"; readonly admitted: Admitted; readonly trunk: string }
  | { readonly kind: "refuse"; readonly refusal: Refusal; readonly security?: string; readonly trunk: string | null }
  | { readonly kind: "challenge"; readonly stale: boolean; readonly reason: string };

/** What the pipeline steps read besides the request. */
export interface PipelineEnv {
  readonly clock: Clock;
  readonly channels: ChannelTable;
  readonly bindings: BindingRepository;
  readonly realm: string;
  readonly nonceSecret: string;
  readonly nonceCounts: NonceCountTracker;
  readonly defaultTimeoutMs: number;
  readonly random: () => number;
  readonly isDown: (gatewayId: string) => boolean;
  /** Host (and port) of our own URIs in From headers we write. */
  readonly ourHost: (protocol: TransportProtocol) => string;
  readonly forking: "parallel" | "sequential";
  /** AORs under which a registration-mode customer's PBX registers. */
  readonly aorsOf: (customer: CustomerTrunk) => string[];
  /** Toll-fraud rules and per-customer state, judged once the destination and its rate are known. */
  readonly fraud: FraudEngine;
  /** The lock on a digest account (security.auth.accountLock), if in force: its INVITEs get 403 unchecked. */
  readonly accountLock?: (account: string) => { readonly reason: string } | undefined;
}

/** The facts of one new INVITE as the steps see them. */
export interface PipelineInput {
  readonly request: SipRequest;
  readonly context: InboundContext;
  readonly policy: Policy;
  readonly cdr: CdrDraft;
}

/** A step's verdict: go on, or stop with a refusal (holds taken so far are released by the runner). */
type Step = { readonly kind: "pass" } | { readonly kind: "refuse"; readonly refusal: Refusal; readonly security?: string } | { readonly kind: "challenge"; readonly stale: boolean; readonly reason: string };

const PASS: Step = { kind: "pass" };

function userOf(uri: SipRequest["uri"]): string {
  if (uri.scheme === "sip" || uri.scheme === "sips") return (uri as SipUri).user ?? "";
  if (uri.scheme === "tel") return (uri as { number: string }).number;
  return "";
}

/** The user part of a URI as received, for the CDR's raw numbers. */
export function rawUser(uri: SipRequest["uri"]): string {
  return userOf(uri);
}

function withUser(uri: SipUri, user: string): SipUri {
  return { ...uri, user, params: { ...uri.params }, headers: [] };
}

function asSipUri(text: string): SipUri | null {
  const uri = parseUri(text.trim().replace(/^<|>$/g, ""));
  return uri !== null && (uri.scheme === "sip" || uri.scheme === "sips") ? (uri as SipUri) : null;
}

function refuse(r: Refusal, cdr: CdrDraft, step: string, security?: string): Step {
  cdr.trace(step, "refuse", r.reason, { status: r.status });
  return security === undefined ? { kind: "refuse", refusal: r } : { kind: "refuse", refusal: r, security };
}

/** Step: digest authentication of a customer whose identification asks for it (RFC 3261 22.3, 407). */
function authenticate(env: PipelineEnv, input: PipelineInput, customer: CustomerTrunk, verify: DigestCredentials | undefined): Step {
  if (verify === undefined) {
    input.cdr.trace("authenticate", "pass", `${customer.name}: source address is enough, no digest needed`);
    return PASS;
  }
  const values = getHeaders(input.request, "Proxy-Authorization");
  const header = selectCredentials(values, env.realm);
  if (header === undefined) return { kind: "challenge", stale: false, reason: `${customer.name}: credentials for realm ${env.realm} required` };
  const tried = parseCredentials(header);
  const lock = tried.ok ? env.accountLock?.(tried.value.username) : undefined;
  if (lock !== undefined) {
    // Refused without checking the response: a right guess during the lock must not be told apart.
    return refuse(refusal("bad-credentials", `${customer.name}: ${lock.reason}`), input.cdr, "authenticate", "account-locked");
  }
  const result = verifyCredentials({
    // Parsed once: the lock check above read it already.
    header: tried.ok ? tried.value : header,
    method: input.request.method,
    realm: env.realm,
    secret: env.nonceSecret,
    now: env.clock.wallNow(),
    nonceCounts: env.nonceCounts,
    lookup: (username, algorithm) => {
      // The stored hash of the algorithm the response used (customers keep no password), in our realm only.
      const ha1 = storedHa1(verify, username, env.realm, algorithm);
      return ha1 === undefined ? undefined : { ha1 };
    },
  });
  if (result.ok) {
    input.cdr.trace("authenticate", "pass", `${customer.name}: digest ${result.algorithm} verified for ${result.username}`);
    return PASS;
  }
  if (result.reason === "stale") return { kind: "challenge", stale: true, reason: `${customer.name}: nonce expired` };
  if (result.reason === "bad-nonce" || result.reason === "replay" || result.reason === "wrong-realm") {
    // Not proof of a wrong password (a nonce from before a restart, a reused one, another realm): a fresh challenge lets an honest PBX recover.
    return { kind: "challenge", stale: false, reason: `${customer.name}: ${result.reason}, challenged again` };
  }
  return refuse(refusal("bad-credentials", `${customer.name}: digest verification failed (${result.reason})`), input.cdr, "authenticate", "auth-failed");
}

/** Step: CPS token then a channel on a trunk; the hold joins `holds` so every later refusal releases it. */
function admitOn(env: PipelineEnv, input: PipelineInput, trunk: CustomerTrunk | CarrierTrunk, direction: "inbound" | "outbound", holds: ChannelHold[]): Step {
  const cps = env.channels.cps(trunk, env.clock.now());
  if (cps.kind === "refuse") return refuse(cps.refusal, input.cdr, "cps");
  input.cdr.trace("cps", "pass", cps.reason);
  const taken = env.channels.take(trunk, direction);
  if (taken.kind === "refuse") return refuse(taken.refusal, input.cdr, "channels");
  holds.push(taken.hold);
  input.cdr.trace("channels", "pass", taken.reason);
  return PASS;
}

/** Carrier attempts for an E.164 destination: route, carriers in order, up gateways, formatted numbers. */
function gatewayTargets(env: PipelineEnv, input: PipelineInput, destination: E164, caller: { user: string; displayName: string | null }): { targets: CallTarget[]; refusal?: Refusal } {
  const plan = planRoute(input.policy.routes, destination, {
    carriers: input.policy.carriers,
    rates: input.policy.rates,
    downGateways: new Set(input.policy.provisioning.carriers.flatMap((c) => c.gateways.filter((g) => env.isDown(g.id)).map((g) => g.id))),
    carrierChannels: env.channels.snapshot(),
    random: env.random,
  });
  for (const s of plan.skipped) input.cdr.trace("route", "info", `skipped ${s.carrierId}${s.gatewayId !== undefined ? "/" + s.gatewayId : ""}: ${s.reason}`);
  if (plan.kind === "refuse") {
    input.cdr.trace("route", "refuse", plan.refusal.reason, { status: plan.refusal.status });
    return { targets: [], refusal: plan.refusal };
  }
  input.cdr.trace("route", "pass", plan.reason, { route: plan.route.id, attempts: plan.attempts.length });
  const targets: CallTarget[] = [];
  for (const a of plan.attempts) {
    const gwUri = asSipUri(a.gateway.uri);
    if (gwUri === null) {
      input.cdr.trace("route", "error", `gateway ${a.gateway.id} has an unusable URI ${a.gateway.uri}`);
      continue;
    }
    const requestUri = withUser(gwUri, a.calledUser);
    const callerNumber = /^\+?[0-9]+$/.test(caller.user) ? formatForCarrier(caller.user.startsWith("+") ? caller.user : "+" + caller.user, { ...a.carrier.numbering, techPrefix: "" }) : caller.user;
    targets.push({
      label: `${a.carrier.id}/${a.gateway.id} ${serializeUri(requestUri)}`,
      requestUri,
      to: { displayName: null, uri: { ...requestUri, params: {} }, params: {} },
      from: { displayName: caller.displayName, uri: { scheme: "sip", user: callerNumber, password: null, host: env.ourHost(input.context.protocol), port: null, params: {}, headers: [] }, params: {} },
      flow: null,
      carrier: a.carrier,
      gatewayId: a.gateway.id,
      failover: a.carrier.failover.timeoutMs > 0 ? a.carrier.failover : { ...a.carrier.failover, timeoutMs: env.defaultTimeoutMs },
      ...(a.carrier.credentials !== undefined ? { credentials: a.carrier.credentials } : {}),
      ...(a.pricePerMinute !== undefined ? { pricePerMinute: a.pricePerMinute, currency: a.currency ?? "USD" } : {}),
    });
  }
  return { targets };
}

/**
 * Step: the fraud engine's verdict on a routed call, one trace entry naming the deciding rule, the
 * destination class and the figures. Last of the outbound steps: an allowed call counts as started
 * in the engine until its CDR is written, so no later step may refuse it.
 */
/** The last fraud rules summary written to a trace: the same text for nearly every call, kept once. */
let lastRulesText = "";

function fraudCheck(env: PipelineEnv, input: PipelineInput, customer: CustomerTrunk, destination: E164, targets: readonly CallTarget[]): Step {
  const rate = targets.find((t) => t.pricePerMinute !== undefined)?.pricePerMinute;
  const { remote } = input.context;
  const verdict = env.fraud.evaluate(customer, { id: input.cdr.id, callId: input.request.callId, destination, ratePerMinute: rate, source: `${remote.address}:${remote.port}` });
  const hits = verdict.results.filter((r) => r.outcome === "hit");
  const decisive = hits.find((r) => r.action === verdict.kind) ?? hits[0];
  const detail = hits.length > 1 ? `${verdict.reason}; also ${hits.filter((r) => r !== decisive).map((r) => `${r.rule}: ${r.reason}`).join("; ")}` : verdict.reason;
  input.cdr.trace("fraud", verdict.kind === "allow" ? "pass" : "refuse", detail, {
    action: verdict.kind,
    rule: decisive?.rule ?? null,
    class: verdict.destinationClass,
    range: verdict.range?.prefix ?? null,
    rangeLabel: verdict.range?.label ?? null,
    rangesVersion: env.fraud.rangesVersion,
    ratePerMinute: rate ?? null,
    rules: sharedRulesText(verdict.results.map((r) => `${r.rule}=${r.outcome}`).join(" ")),
    ...(verdict.refusal !== undefined ? { status: verdict.refusal.status } : {}),
  });
  // The engine has logged the security event; the call layer answers and writes the CDR.
  return verdict.refusal === undefined ? PASS : { kind: "refuse", refusal: verdict.refusal };
}

/** The same string as the last summary when equal: a held call's trace then shares it rather than keeping its own. */
function sharedRulesText(text: string): string {
  if (text === lastRulesText) return lastRulesText;
  lastRulesText = text;
  return text;
}

async function run(holds: ChannelHold[], steps: Array<() => Step | Promise<Step>>): Promise<Step> {
  for (const step of steps) {
    // Most steps decide at once: awaiting only a promise saves a turn of the microtask queue each.
    const result = step();
    const verdict = result instanceof Promise ? await result : result;
    if (verdict.kind !== "pass") {
      // A refusal after admission gives the channels back at once: the call never existed.
      for (const h of holds) h.release();
      return verdict;
    }
  }
  return PASS;
}

function finish(step: Step, trunk: string, admitted: () => Admitted): PipelineOutcome {
  if (step.kind === "challenge") return step;
  if (step.kind === "refuse") return step.security !== undefined ? { kind: "refuse", refusal: step.refusal, security: step.security, trunk } : { kind: "refuse", refusal: step.refusal, trunk };
  return { kind: "admit", admitted: admitted(), trunk };
}

/** Outbound (PBX -> carrier): authenticate, admit, normalize, check destination and caller ID, route. */
export async function outboundPipeline(env: PipelineEnv, input: PipelineInput, decision: Extract<IdentifyDecision, { kind: "customer" }>): Promise<PipelineOutcome> {
  const { customer } = decision;
  const { request, cdr } = input;
  cdr.set({ customerId: customer.id });
  cdr.trace("identify", "pass", decision.reason, { trunk: customer.id, matchedBy: decision.matchedBy });
  const holds: ChannelHold[] = [];
  let callee: E164 = "";
  let caller: { user: string; displayName: string | null } = { user: userOf(request.from.uri), displayName: request.from.displayName };
  let targets: CallTarget[] = [];
  const verdict = await run(holds, [
    () => authenticate(env, input, customer, decision.verify),
    () => admitOn(env, input, customer, "outbound", holds),
    () => {
      const raw = serializeUri(request.uri);
      const n = numberFromUri(raw, customer.numbering);
      if (!n.ok) return refuse(refusal("invalid-number", `${customer.name}: called number ${n.error.message}`), cdr, "normalize");
      callee = n.value;
      cdr.set({ calleeE164: callee });
      cdr.trace("normalize", "pass", `called ${userOf(request.uri)} -> ${callee} (${customer.numbering.format}, +${customer.numbering.countryCode})`, { before: userOf(request.uri), after: callee });
      return PASS;
    },
    () => {
      const d = checkDestination(customer, callee);
      if (d.kind === "refuse") return refuse(d.refusal, cdr, "destination");
      cdr.trace("destination", "pass", d.reason);
      return PASS;
    },
    () => {
      const c = checkCallerId(customer, caller.user, input.policy.dids);
      if (c.kind === "refuse") return refuse(c.refusal, cdr, "caller-id");
      if (c.callerNumber !== undefined) {
        cdr.set({ callerE164: c.callerNumber });
        caller = { user: c.callerNumber, displayName: caller.displayName };
      }
      cdr.trace("caller-id", "pass", c.reason, { before: userOf(request.from.uri), after: c.callerNumber ?? null });
      return PASS;
    },
    () => {
      const r = gatewayTargets(env, input, callee, caller);
      if (r.refusal !== undefined) return { kind: "refuse", refusal: r.refusal };
      targets = r.targets;
      return PASS;
    },
    () => fraudCheck(env, input, customer, callee, targets),
  ]);
  // Copies of exact length: the call keeps its Admitted for its whole life, and a list grown by push has room for 17.
  return finish(verdict, customer.id, () => ({ direction: "outbound", customerId: customer.id, holds: holds.slice(), targets: targets.slice(), ...(customer.media !== undefined ? { aMedia: customer.media } : {}) }));
}

function formatFor(plan: NumberingPlan, number: E164): string {
  return formatForCarrier(number, { ...plan, techPrefix: "" });
}

/** Inbound (carrier -> PBX): DID lookup, admit on both trunks, delivery to static URI or registrations, failover, forward. */
export async function inboundPipeline(env: PipelineEnv, input: PipelineInput, decision: Extract<IdentifyDecision, { kind: "carrier" }>): Promise<PipelineOutcome> {
  const { carrier } = decision;
  const { request, cdr } = input;
  cdr.set({ carrierId: carrier.id });
  cdr.trace("identify", "pass", decision.reason, { trunk: carrier.id });
  const holds: ChannelHold[] = [];
  let customer: CustomerTrunk | null = null;
  let did: E164 = "";
  let callerE164: E164 | null = null;
  let targets: CallTarget[] = [];
  let forwardTo: E164 | undefined;
  const verdict = await run(holds, [
    () => {
      const user = userOf(request.uri);
      const called = user !== "" ? serializeUri(request.uri) : serializeUri(request.to.uri);
      const d = lookupInboundDid(input.policy.dids, called, carrier.numbering);
      if (d.kind === "refuse") return refuse(d.refusal, cdr, "did");
      customer = d.owner.customer;
      did = d.number;
      cdr.set({ customerId: customer.id, calleeE164: did });
      cdr.trace("did", "pass", d.reason, { before: user, after: did, customer: customer.id });
      const from = numberFromUri(serializeUri(request.from.uri), carrier.numbering);
      if (from.ok) {
        callerE164 = from.value;
        cdr.set({ callerE164 });
      }
      return PASS;
    },
    () => admitOn(env, input, carrier, "inbound", holds),
    () => (customer === null ? PASS : admitOn(env, input, customer, "inbound", holds)),
    async () => {
      const c = customer;
      if (c === null) return PASS;
      const now = env.clock.wallNow();
      const bindings = c.mode.kind === "registration" ? (await Promise.all(env.aorsOf(c).map((aor) => env.bindings.list(aor, now)))).flat() : [];
      const flows = new Map<string, SendTarget>();
      for (const b of bindings) {
        const protocol = b.receivedFrom.transport === "tcp" ? "TCP" : b.receivedFrom.transport === "tls" ? "TLS" : "UDP";
        flows.set(b.contact, { protocol, remote: { address: b.receivedFrom.address, port: b.receivedFrom.port } });
      }
      if (c.mode.kind === "registration") cdr.trace("registration", bindings.length > 0 ? "pass" : "info", `${c.name}: ${bindings.length} registered contact(s)`);
      const plan = planDelivery(c, bindings.map((b) => b.contact));
      if (plan.kind === "refuse") return refuse(plan.refusal, cdr, "delivery");
      cdr.trace("delivery", "pass", plan.reason);
      forwardTo = plan.forwardTo;
      const calledUser = formatFor(c.numbering, did);
      const callerUser = callerE164 !== null ? formatFor(c.numbering, callerE164) : userOf(request.from.uri);
      for (const t of plan.targets) {
        const uri = asSipUri(t.uri);
        if (uri === null) {
          cdr.trace("delivery", "error", `${c.name}: unusable target URI ${t.uri}`);
          continue;
        }
        const requestUri = t.source === "registration" || uri.user !== null ? uri : withUser(uri, calledUser);
        targets.push({
          label: `${c.id} ${t.source} ${serializeUri(requestUri)}`,
          requestUri,
          to: { displayName: null, uri: { ...uri, user: calledUser, params: {}, headers: [] }, params: {} },
          from: {
            displayName: request.from.displayName,
            uri: { scheme: "sip", user: callerUser, password: null, host: env.ourHost(input.context.protocol), port: null, params: {}, headers: [] },
            params: {},
          } satisfies NameAddr,
          flow: flows.get(t.uri) ?? null,
          carrier: null,
          gatewayId: null,
          failover: c.failover.policy.timeoutMs > 0 ? c.failover.policy : { ...c.failover.policy, timeoutMs: env.defaultTimeoutMs },
          ...(t.source === "registration" && env.forking === "parallel" ? { group: "registration" } : {}),
        });
      }
      return PASS;
    },
  ]);
  const c = customer as CustomerTrunk | null;
  const forward = forwardTo;
  return finish(verdict, carrier.id, () => ({
    direction: "inbound",
    customerId: c?.id ?? "",
    holds: holds.slice(),
    targets: targets.slice(),
    ...(carrier.media !== undefined ? { aMedia: carrier.media } : {}),
    ...(c?.media !== undefined ? { bMedia: c.media } : {}),
    ...(forward !== undefined
      ? {
          more: () =>
            gatewayTargets(env, input, forward, { user: callerE164 ?? userOf(request.from.uri), displayName: request.from.displayName }).targets,
        }
      : {}),
  }));
}
