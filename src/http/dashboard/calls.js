// Live calls: the table follows /api/v1/events; Hang up asks once more, then DELETE /api/v1/calls/:id.
"use strict";

TL.chrome("calls");

const body = document.querySelector("#calls tbody");
const filter = document.getElementById("filter");
let latest = null;
/** Id of the call whose Hang up button waits for confirmation, and when that lapses. */
let arming = null;
const ending = new Set();

function matches(c, q) {
  if (q === "") return true;
  return [c.id, c.callId, c.caller, c.callee, c.customerId, c.carrierId].some((v) => v !== null && String(v).toLowerCase().includes(q));
}

function row(c, now) {
  const since = c.answeredAt ?? c.startedAt;
  const armed = arming !== null && arming.id === c.id && arming.until > now;
  const label = ending.has(c.id) ? "Ending…" : armed ? "Confirm hang-up" : "Hang up";
  return `<tr data-id="${TL.esc(c.id)}">
    <td>${TL.time(c.startedAt)}</td>
    <td><span class="badge ${c.direction === "outbound" ? "accent" : "info"}">${c.direction}</span></td>
    <td class="mono">${TL.esc(c.caller ?? "–")}</td>
    <td class="mono">${TL.esc(c.callee ?? "–")}</td>
    <td>${TL.esc(c.customerId ?? "–")}</td>
    <td>${TL.esc(c.carrierId ?? "–")}</td>
    <td>${TL.stateBadge(c.state)}</td>
    <td class="num" title="${c.answeredAt === null ? "since the INVITE" : "since answer"}">${TL.duration(now - since)}</td>
    <td class="mono muted" title="Call-ID ${TL.esc(c.callId)}">${TL.esc(c.id)}</td>
    <td class="num"><button class="danger small${armed ? " confirm" : ""}" data-hangup="${TL.esc(c.id)}"${ending.has(c.id) ? " disabled" : ""}>${label}</button></td>
  </tr>`;
}

function render() {
  if (latest === null) return;
  const now = Date.now();
  const q = filter.value.trim().toLowerCase();
  const calls = latest.calls.filter((c) => matches(c, q)).sort((a, b) => b.startedAt - a.startedAt);
  for (const id of [...ending]) if (!latest.calls.some((c) => c.id === id)) ending.delete(id);
  document.getElementById("count").textContent = `${latest.calls.length} in progress${q === "" ? "" : `, ${calls.length} shown`}.`;
  body.innerHTML = calls.length === 0
    ? `<tr><td colspan="10" class="empty">${latest.calls.length === 0 ? "No calls in progress." : "No call matches the filter."}</td></tr>`
    : calls.map((c) => row(c, now)).join("");
}

body.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-hangup]");
  if (button === null) return;
  const id = button.dataset.hangup;
  const now = Date.now();
  if (arming === null || arming.id !== id || arming.until < now) {
    arming = { id, until: now + 4000 };
    render();
    return;
  }
  arming = null;
  ending.add(id);
  render();
  const res = await TL.api(`/api/v1/calls/${encodeURIComponent(id)}?reason=${encodeURIComponent("hung up from the dashboard")}`, { method: "DELETE" });
  if (res.status === 204) TL.toast(`Call ${id} hung up`);
  else {
    ending.delete(id);
    const body = await res.json().catch(() => null);
    TL.toast(body?.error?.message ?? `Hang-up failed (HTTP ${res.status})`, true);
    render();
  }
});

filter.addEventListener("input", render);
TL.follow((s) => {
  latest = s;
  render();
});
