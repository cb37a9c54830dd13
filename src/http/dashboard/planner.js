// Capacity planner: a form over GET /api/v1/plan (the computation `trunkline plan` runs) and the
// per-trunk result, with a warning for each trunk whose channel limit is below its need.
"use strict";

TL.chrome("planner", false);

const form = document.getElementById("plan-form");
let source = "cdrs";

function setSource(next) {
  source = next;
  for (const b of form.querySelectorAll("[data-source]")) b.classList.toggle("active", b.dataset.source === next);
  for (const el of form.querySelectorAll(".source-cdrs")) el.hidden = next !== "cdrs";
  for (const el of form.querySelectorAll(".source-figures")) el.hidden = next !== "figures";
}

for (const b of form.querySelectorAll("[data-source]")) b.addEventListener("click", () => setSource(b.dataset.source));

function kbps(bits) {
  if (bits >= 1_000_000) return `${(bits / 1_000_000).toFixed(2)}<span class="unit">Mbit/s</span>`;
  return `${(bits / 1000).toFixed(1)}<span class="unit">kbit/s</span>`;
}
function kbpsText(bits) {
  return bits >= 1_000_000 ? `${(bits / 1_000_000).toFixed(2)} Mbit/s` : `${(bits / 1000).toFixed(1)} kbit/s`;
}
function percent(p) {
  if (p === null || p === undefined) return "–";
  // Below a hundredth of a percent the exact figure says nothing more than "practically none".
  if (p > 0 && p < 0.0001) return "< 0.01%";
  return `${Number((p * 100).toPrecision(3))}%`;
}
function utcHour(ms) {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/** The query string of the form, or an error message naming the field. */
function query() {
  const v = (name) => form.elements[name].value.trim();
  const params = new URLSearchParams();
  const blocking = Number(v("blocking"));
  if (!(blocking > 0 && blocking < 100)) return { error: "Target blocking: a percentage above 0 and below 100, such as 1." };
  params.set("blocking", String(blocking / 100));
  params.set("codec", v("codec"));
  params.set("ptime", v("ptime"));
  params.set("layer", v("layer"));
  if (source === "figures") {
    if (v("calls") === "" || !(Number(v("calls")) >= 0)) return { error: "Busy-hour calls: a number of calls, 0 or more." };
    if (v("duration") === "" || !(Number(v("duration")) >= 0)) return { error: "Mean duration: seconds, 0 or more." };
    params.set("calls", v("calls"));
    params.set("duration", v("duration"));
    if (v("trunk") !== "") params.set("trunk", v("trunk"));
  } else {
    const days = Number(v("days"));
    if (!(Number.isInteger(days) && days >= 1 && days <= 366)) return { error: "Days: a whole number from 1 to 366." };
    params.set("days", String(days));
  }
  return { query: params.toString() };
}

function limitCell(t) {
  if (t.configuredChannels === null) return `<span class="muted">no limit</span>`;
  const short = t.warning !== null;
  const pct = t.channels === 0 ? 0 : Math.min(100, Math.round((t.channels / Math.max(1, t.configuredChannels)) * 100));
  return `<div class="need-bar${short ? " short" : ""}" title="${t.channels} needed of ${t.configuredChannels} configured">` +
    `<div class="track"><div class="fill" style="width:${pct}%"></div></div>` +
    `<span class="text">${t.configuredChannels}</span>${short ? `<span class="badge bad">too few</span>` : `<span class="badge good">enough</span>`}</div>`;
}

function render(plan) {
  document.getElementById("result").hidden = false;
  const trunks = plan.trunks;
  const needed = trunks.reduce((n, t) => n + t.channels, 0);
  const bits = trunks.reduce((n, t) => n + t.bitsPerSecond, 0);
  const short = trunks.filter((t) => t.warning !== null).length;
  const set = (id, html, cls) => {
    const el = document.getElementById(id);
    el.querySelector(".value").innerHTML = html;
    el.className = `figure${cls ? ` ${cls}` : ""}`;
  };
  set("fig-channels", String(needed));
  set("fig-bandwidth", kbps(bits));
  set("fig-percall", kbps(plan.perCall.bitsPerSecond));
  set("fig-short", String(short), short > 0 ? "bad" : "good");
  document.querySelector("#fig-channels .note").textContent = plan.mode === "figures" ? "for these figures" : `all ${trunks.length} trunk${trunks.length === 1 ? "" : "s"}`;

  document.getElementById("warnings").innerHTML = trunks
    .filter((t) => t.warning !== null)
    .map((t) => `<div class="plan-warning" role="alert"><span class="icon">!</span><div><strong>${TL.esc(t.trunkId ?? "These figures")}</strong>` +
      `${t.kind ? ` <span class="muted">(${TL.esc(t.kind)})</span>` : ""}: ${TL.esc(t.warning)}.` +
      `<div class="small">Raise its channel limit to at least <strong>${t.channels}</strong>, or expect calls refused with 503 in the busy hour.</div></div></div>`)
    .join("");

  const s = plan.settings;
  document.getElementById("result-title").textContent = plan.mode === "figures" ? "Plan for the figures given" : "Plan per trunk";
  document.getElementById("result-note").textContent = plan.mode === "figures"
    ? `${plan.figures.calls} calls × ${plan.figures.durationSeconds} s in the busy hour, ${percent(s.blocking)} blocking`
    : `busy hour of the last ${plan.period.days} day${plan.period.days === 1 ? "" : "s"}, ${percent(s.blocking)} blocking`;
  const pc = plan.perCall;
  document.getElementById("method-note").textContent =
    `${pc.codec} at ${pc.ptimeMs} ms: ${pc.payloadBytes}-byte payload in ${pc.packetBytes}-byte ${pc.layer === "ethernet" ? "Ethernet frames (IPv4/UDP/RTP 40 bytes + Ethernet 18 bytes)" : "IP packets (IPv4/UDP/RTP 40 bytes)"}, ` +
    `${pc.packetsPerSecond} packets/s, ${kbpsText(pc.bitsPerSecond)} per call each way; RTCP not included. ` +
    (plan.mode === "cdrs" ? "Traffic is the answered calls of each trunk's busiest UTC hour (carried traffic: calls already refused are not in it)." : "Traffic = calls × mean duration / 3600 s.");

  document.querySelector("#plan-table tbody").innerHTML = trunks.length === 0
    ? `<tr><td colspan="10" class="empty">No trunks are provisioned and no answered calls were found.</td></tr>`
    : trunks.map((t) => `<tr class="${t.warning !== null ? "row-short" : ""}" data-trunk="${TL.esc(t.trunkId ?? "")}">
        <td><strong>${TL.esc(t.trunkId ?? "–")}</strong></td>
        <td>${t.kind === null ? `<span class="muted">–</span>` : `<span class="badge ${t.kind === "unprovisioned" ? "warn" : t.kind === "carrier" ? "info" : "accent"}">${TL.esc(t.kind)}</span>`}</td>
        <td class="mono">${t.busyHour ? utcHour(t.busyHour.hourStart) : `<span class="muted">${plan.mode === "figures" ? "given" : "no answered calls"}</span>`}</td>
        <td class="num">${t.busyHour ? t.busyHour.calls : plan.mode === "figures" ? plan.figures.calls : 0}</td>
        <td class="num">${t.busyHour ? TL.duration(t.busyHour.meanDurationSeconds * 1000) : plan.mode === "figures" ? TL.duration(plan.figures.durationSeconds * 1000) : "–"}</td>
        <td class="num">${t.trafficErlangs.toFixed(2)}</td>
        <td class="num"><strong class="need">${t.channels}</strong></td>
        <td>${limitCell(t)}</td>
        <td class="num">${t.blockingAtConfigured === null ? "–" : `<span class="${t.warning !== null ? "bad-text" : ""}">${percent(t.blockingAtConfigured)}</span>`}</td>
        <td class="num">${kbpsText(t.bitsPerSecond)}</td></tr>`).join("");
}

async function plan() {
  const q = query();
  const error = document.getElementById("form-error");
  if (q.error !== undefined) {
    error.textContent = q.error;
    return;
  }
  error.textContent = "";
  const button = document.getElementById("plan-button");
  button.disabled = true;
  try {
    render(await TL.getJson(`/api/v1/plan?${q.query}`));
  } catch (e) {
    error.textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  void plan();
});

async function loadTrunks() {
  try {
    const [customers, carriers] = await Promise.all([TL.getJson("/api/v1/customers"), TL.getJson("/api/v1/carriers")]);
    const list = (x) => (Array.isArray(x) ? x : x.items ?? []);
    const group = (label, items) => `<optgroup label="${label}">${items.map((t) => `<option value="${TL.esc(t.id)}">${TL.esc(t.id)}</option>`).join("")}</optgroup>`;
    form.elements.trunk.innerHTML = `<option value="">No trunk</option>${group("Customers", list(customers))}${group("Carriers", list(carriers))}`;
  } catch {
    // Figures still plan without a trunk to compare with.
  }
}

void loadTrunks();
void plan();
