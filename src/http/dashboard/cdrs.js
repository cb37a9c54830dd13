// CDR search: the form's filters live in the page URL (so Back and shared links keep them), the
// API does the search, rows link to the call's detail page.
"use strict";

TL.chrome("cdrs", false);

const form = document.getElementById("search");
const body = document.querySelector("#cdrs tbody");
const pageSize = document.getElementById("page-size");
const FIELDS = ["from", "to", "trunk", "number", "disposition"];
let offset = 0;

/** datetime-local text (local time) -> ISO instant the API accepts; and back. */
function toIso(local) {
  if (local === "") return "";
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}
function toLocal(iso) {
  if (iso === "") return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The API query for the form's filters (without paging). */
function filters() {
  const q = new URLSearchParams();
  for (const name of FIELDS) {
    const raw = form.elements[name].value.trim();
    const value = name === "from" || name === "to" ? toIso(raw) : raw;
    if (value !== "") q.set(name, value);
  }
  return q;
}

function exportHref(format) {
  const q = filters();
  q.set("format", format);
  q.set("limit", "10000");
  return `/api/v1/cdrs?${q}`;
}

async function search() {
  const limit = Number(pageSize.value);
  const q = filters();
  const pageQuery = new URLSearchParams(q);
  if (offset > 0) pageQuery.set("offset", String(offset));
  if (limit !== 50) pageQuery.set("limit", String(limit));
  history.replaceState(null, "", `/dashboard/cdrs${pageQuery.toString() === "" ? "" : `?${pageQuery}`}`);
  document.getElementById("export-csv").href = exportHref("csv");
  document.getElementById("export-json").href = exportHref("json");
  q.set("limit", String(limit));
  q.set("offset", String(offset));
  body.innerHTML = `<tr><td colspan="10" class="empty">Searching…</td></tr>`;
  try {
    const page = await TL.getJson(`/api/v1/cdrs?${q}`);
    const back = encodeURIComponent(location.search);
    body.innerHTML = page.items.length === 0
      ? `<tr><td colspan="10" class="empty">No call detail record matches.</td></tr>`
      : page.items.map((r) => `<tr class="clickable" data-id="${TL.esc(r.id)}" data-href="/dashboard/cdrs/${encodeURIComponent(r.id)}?back=${back}">
          <td>${TL.dateTime(r.startedAt)}</td>
          <td><span class="badge ${r.direction === "outbound" ? "accent" : "info"}">${r.direction}</span></td>
          <td class="mono">${TL.esc(r.callerE164 ?? r.callerRaw)}</td>
          <td class="mono"><a href="/dashboard/cdrs/${encodeURIComponent(r.id)}?back=${back}">${TL.esc(r.calleeE164 ?? r.calleeRaw)}</a></td>
          <td>${TL.esc(r.customerId ?? "–")}</td>
          <td>${TL.esc(r.carrierId ?? "–")}</td>
          <td>${TL.dispositionBadge(r.disposition)}</td>
          <td class="num">${r.finalStatus ?? "–"}</td>
          <td class="num">${r.answeredAt === null ? "–" : TL.duration(r.durationMs)}</td>
          <td class="num">${r.cost === null ? "–" : `${r.cost.toFixed(4)} ${TL.esc(r.currency ?? "")}`}</td>
        </tr>`).join("");
    const first = page.total === 0 ? 0 : offset + 1;
    const last = offset + page.items.length;
    document.getElementById("range").textContent = `${first}–${last} of ${page.total} records`;
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = last >= page.total;
  } catch (e) {
    body.innerHTML = `<tr><td colspan="10" class="empty" style="color:var(--bad)">${TL.esc(e.message)}</td></tr>`;
  }
}

/** With a token, export links fetch with the header and save the answer (a plain link cannot send it). */
async function download(ev) {
  if (TL.token() === null) return;
  ev.preventDefault();
  const a = ev.currentTarget;
  const res = await TL.api(a.href);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = a.id === "export-csv" ? "cdrs.csv" : "cdrs.json";
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function loadTrunks() {
  const select = form.elements.trunk;
  const wanted = select.value;
  try {
    const [customers, carriers] = await Promise.all([TL.getJson("/api/v1/customers"), TL.getJson("/api/v1/carriers")]);
    const list = (x) => (Array.isArray(x) ? x : x.items ?? []);
    const group = (label, items) => `<optgroup label="${label}">${items.map((t) => `<option value="${TL.esc(t.id)}">${TL.esc(t.id)}</option>`).join("")}</optgroup>`;
    select.innerHTML = `<option value="">Any trunk</option>${group("Customers", list(customers))}${group("Carriers", list(carriers))}`;
    select.value = wanted;
  } catch {
    // The search still works without the list.
  }
}

// Start from the URL's filters.
const initial = new URLSearchParams(location.search);
for (const name of FIELDS) {
  const v = initial.get(name) ?? "";
  if (name === "trunk" && v !== "") form.elements.trunk.innerHTML += `<option value="${TL.esc(v)}">${TL.esc(v)}</option>`;
  form.elements[name].value = name === "from" || name === "to" ? toLocal(v) : v;
}
offset = Number(initial.get("offset") ?? 0) || 0;
if (initial.get("limit") !== null) pageSize.value = initial.get("limit");

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  offset = 0;
  void search();
});
pageSize.addEventListener("change", () => {
  offset = 0;
  void search();
});
document.getElementById("prev").addEventListener("click", () => {
  offset = Math.max(0, offset - Number(pageSize.value));
  void search();
});
document.getElementById("next").addEventListener("click", () => {
  offset += Number(pageSize.value);
  void search();
});
body.addEventListener("click", (ev) => {
  if (ev.target.closest("a") !== null) return;
  const tr = ev.target.closest("tr[data-href]");
  if (tr !== null) location.href = tr.dataset.href;
});
document.getElementById("export-csv").addEventListener("click", download);
document.getElementById("export-json").addEventListener("click", download);

void loadTrunks();
void search();
