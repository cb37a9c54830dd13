// Trunks: customers and carriers with limits, channel use and health, from /api/v1/events.
"use strict";

TL.chrome("trunks");

function limitsNote(l) {
  const parts = [];
  if (l.inboundChannels !== undefined) parts.push(`in ≤ ${l.inboundChannels}`);
  if (l.outboundChannels !== undefined) parts.push(`out ≤ ${l.outboundChannels}`);
  return parts.length === 0 ? "" : `<div class="muted small">${parts.join(", ")}</div>`;
}

function gatewayList(gateways) {
  if (gateways.length === 0) return `<span class="muted">–</span>`;
  return gateways
    .map((g) => `<div style="display:flex;gap:8px;align-items:center;margin:2px 0">${TL.healthBadge(g.status)}<span class="mono" title="${TL.esc(g.last ?? "not pinged yet")}">${TL.esc(g.uri)}</span></div>`)
    .join("");
}

function render(s) {
  const customers = s.trunks.filter((t) => t.kind === "customer");
  const carriers = s.trunks.filter((t) => t.kind === "carrier");
  const gatewaysOf = (id) => s.gateways.filter((g) => g.trunkId === id);
  document.getElementById("customer-count").textContent = `${customers.length} provisioned`;
  document.getElementById("carrier-count").textContent = `${carriers.length} provisioned`;

  document.querySelector("#customers tbody").innerHTML = customers.length === 0
    ? `<tr><td colspan="8" class="empty">No customers provisioned.</td></tr>`
    : customers.map((t) => {
        const gws = gatewaysOf(t.id);
        const health = gws.length === 0 ? `<span class="muted small">registers with us</span>` : gws.map((g) => TL.healthBadge(g.status)).join(" ");
        return `<tr data-trunk="${TL.esc(t.id)}">
          <td><strong>${TL.esc(t.id)}</strong></td><td>${TL.esc(t.name)}</td>
          <td class="small">${TL.esc(t.detail)}</td>
          <td>${TL.channelBar(t.total, t.limits.channels)}${limitsNote(t.limits)}</td>
          <td class="num">${t.inbound}</td><td class="num">${t.outbound}</td>
          <td class="num">${t.limits.cps ?? "–"}</td><td>${health}</td></tr>`;
      }).join("");

  document.querySelector("#carriers tbody").innerHTML = carriers.length === 0
    ? `<tr><td colspan="8" class="empty">No carriers provisioned.</td></tr>`
    : carriers.map((t) => {
        const reg = s.registrations.find((r) => r.carrierId === t.id);
        const regBadge = reg === undefined ? `<span class="muted small">none</span>` : `<span class="badge ${reg.status === "registered" ? "good" : reg.status === "failed" ? "bad" : "warn"}">${TL.esc(reg.status)}</span>`;
        return `<tr data-trunk="${TL.esc(t.id)}">
          <td><strong>${TL.esc(t.id)}</strong></td><td>${TL.esc(t.name)}</td>
          <td>${gatewayList(gatewaysOf(t.id))}</td>
          <td>${TL.channelBar(t.total, t.limits.channels)}${limitsNote(t.limits)}</td>
          <td class="num">${t.inbound}</td><td class="num">${t.outbound}</td>
          <td class="num">${t.limits.cps ?? "–"}</td><td>${regBadge}</td></tr>`;
      }).join("");
}

TL.follow(render);
