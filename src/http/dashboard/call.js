// Call detail: one CDR with its attempts and its decision trace as a timeline.
"use strict";

TL.chrome("cdrs", false);

const id = decodeURIComponent(location.pathname.split("/").pop() ?? "");
const back = new URLSearchParams(location.search).get("back");
if (back !== null && back.startsWith("?")) document.getElementById("back").href = `/dashboard/cdrs${back}`;

function field(label, value, mono) {
  const v = value === null || value === undefined || value === "" ? `<span class="muted">–</span>` : mono ? `<span class="mono">${TL.esc(value)}</span>` : value;
  return `<dt>${TL.esc(label)}</dt><dd>${v}</dd>`;
}

function offset(ms, start) {
  const d = ms - start;
  return d < 1000 ? `+${d} ms` : `+${(d / 1000).toFixed(d < 10_000 ? 2 : 1)} s`;
}

function render(r) {
  document.title = `Call ${r.id} · Trunkline`;
  const caller = r.callerE164 ?? r.callerRaw;
  const callee = r.calleeE164 ?? r.calleeRaw;
  document.getElementById("call-head").innerHTML =
    `<span class="numbers mono" style="font-size:20px">${TL.esc(caller)}<span class="arrow">&rarr;</span>${TL.esc(callee)}</span>` +
    TL.dispositionBadge(r.disposition) +
    `<span class="badge ${r.direction === "outbound" ? "accent" : "info"}">${r.direction}</span>` +
    `<span class="muted">${TL.dateTime(r.startedAt)}${r.answeredAt === null ? "" : ` · talked ${TL.duration(r.durationMs)}`}</span>`;

  const sipLadder = document.getElementById("sip-ladder");
  sipLadder.dataset.callId = r.id;
  sipLadder.dataset.sipCallId = r.callId;
  SipLadder.load(sipLadder, r);

  document.getElementById("fields").innerHTML = [
    field("Id", r.id, true),
    field("SIP Call-ID", r.callId, true),
    field("Direction", r.direction),
    field("Customer", r.customerId),
    field("Carrier", r.carrierId),
    field("Caller", r.callerE164 === null || r.callerE164 === r.callerRaw ? r.callerRaw : `${r.callerRaw} → ${r.callerE164}`, true),
    field("Callee", r.calleeE164 === null || r.calleeE164 === r.calleeRaw ? r.calleeRaw : `${r.calleeRaw} → ${r.calleeE164}`, true),
    field("Started", TL.dateTime(r.startedAt)),
    field("Ringing", r.ringingAt === null ? null : `${TL.dateTime(r.ringingAt)} <span class="muted">(${offset(r.ringingAt, r.startedAt)})</span>`),
    field("Answered", r.answeredAt === null ? null : `${TL.dateTime(r.answeredAt)} <span class="muted">(${offset(r.answeredAt, r.startedAt)})</span>`),
    field("Ended", r.endedAt === null ? null : `${TL.dateTime(r.endedAt)} <span class="muted">(${offset(r.endedAt, r.startedAt)})</span>`),
    field("Duration", r.answeredAt === null ? null : TL.duration(r.durationMs)),
    field("Final status", r.finalStatus === null ? null : String(r.finalStatus)),
    field("Q.850 cause", r.q850Cause === null ? null : String(r.q850Cause)),
    field("Hung up by", r.hangupBy),
    field("End reason", r.endReason === null ? null : TL.esc(r.endReason)),
    field("Rate", r.ratePerMinute === null ? null : `${r.ratePerMinute} ${TL.esc(r.currency ?? "")}/min`),
    field("Cost", r.cost === null ? null : `${r.cost.toFixed(4)} ${TL.esc(r.currency ?? "")}`),
  ].join("");

  const outcomeClass = { answered: "good", response: "warn", timeout: "bad", "transport-error": "bad", cancelled: "" };
  document.querySelector("#attempts tbody").innerHTML = r.attempts.length === 0
    ? `<tr><td colspan="5" class="empty">No attempt: the call was not routed.</td></tr>`
    : r.attempts.map((a) => `<tr>
        <td class="mono">${TL.esc(a.target)}</td>
        <td>${TL.esc(a.carrierId ?? "–")}${a.gatewayId === null ? "" : ` <span class="muted">/ ${TL.esc(a.gatewayId)}</span>`}</td>
        <td class="num">${a.status ?? "–"}</td>
        <td><span class="badge ${outcomeClass[a.outcome] ?? ""}">${TL.esc(a.outcome)}</span></td>
        <td class="num">${a.endedAt === null ? "–" : `${a.endedAt - a.startedAt} ms`}</td></tr>`).join("");

  document.getElementById("trace-count").textContent = `${r.trace.length} steps`;
  document.getElementById("trace").innerHTML = r.trace.length === 0
    ? `<li class="info"><span class="mark"></span><span class="muted">No trace recorded.</span></li>`
    : r.trace.map((t) => {
        const data = t.data === undefined ? "" : `<div class="data">${Object.entries(t.data).map(([k, v]) => `<span>${TL.esc(k)}=${TL.esc(v)}</span>`).join("")}</div>`;
        const resultBadge = { pass: "good", refuse: "bad", error: "warn", info: "info" }[t.result] ?? "";
        return `<li class="${TL.esc(t.result)}" data-step="${TL.esc(t.step)}"><span class="mark"></span>
          <span class="step">${TL.esc(t.step)}</span><span class="badge ${resultBadge}">${TL.esc(t.result)}</span><span class="when">${TL.time(t.at)} · ${offset(t.at, r.startedAt)}</span>
          <div class="detail">${TL.esc(t.detail)}</div>${data}</li>`;
      }).join("");
}

TL.getJson(`/api/v1/cdrs/${encodeURIComponent(id)}`)
  .then(render)
  .catch((e) => {
    document.getElementById("call-head").innerHTML = `<span style="color:var(--bad)">${TL.esc(e.message)}</span>`;
  });
