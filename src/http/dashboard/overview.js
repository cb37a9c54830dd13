// Overview: headline figures, channel gauges and per-minute charts from /api/v1/events.
"use strict";

TL.chrome("overview");

const COLORS = ["#2f6fed", "#12a150", "#dc8a07", "#d92d20", "#7a5af8", "#0ba5ec", "#ee46bc", "#667085"];

function setFigure(id, value, unit, tone) {
  const el = document.getElementById(id);
  el.querySelector(".value").innerHTML = value === null ? "–" : `${TL.esc(value)}${unit ? `<span class="unit">${unit}</span>` : ""}`;
  el.classList.toggle("good", tone === "good");
  el.classList.toggle("bad", tone === "bad");
}

/** A half-circle gauge of used / limit as SVG. */
function gauge(trunk) {
  const limit = trunk.limits.channels;
  const f = limit ? Math.min(1, trunk.total / limit) : 0;
  const r = 58, cx = 75, cy = 74;
  const point = (a) => `${(cx + r * Math.cos(a)).toFixed(2)} ${(cy - r * Math.sin(a)).toFixed(2)}`;
  const color = f >= 0.9 ? "#d92d20" : f >= 0.7 ? "#dc8a07" : "#2f6fed";
  const arc = f > 0 ? `<path d="M ${point(Math.PI)} A ${r} ${r} 0 0 1 ${point(Math.PI - f * Math.PI)}" stroke="${color}" stroke-width="12" fill="none"/>` : "";
  const caption = limit ? `${Math.round(f * 100)}% of ${limit}` : "no limit";
  return `<div class="gauge" data-trunk="${TL.esc(trunk.id)}">
    <svg viewBox="0 0 150 86" role="img" aria-label="${TL.esc(trunk.id)}: ${trunk.total} channels">
      <path d="M ${point(Math.PI)} A ${r} ${r} 0 0 1 ${point(0)}" stroke="#edf0f5" stroke-width="12" fill="none"/>
      ${arc}
      <text x="75" y="66" text-anchor="middle" font-size="24" font-weight="700" fill="#1b2333">${trunk.total}</text>
      <text x="75" y="82" text-anchor="middle" font-size="11" fill="#667085">${TL.esc(caption)}</text>
    </svg>
    <div class="name" title="${TL.esc(trunk.name)}">${TL.esc(trunk.id)}</div>
    <div class="kind">${trunk.kind}</div>
  </div>`;
}

const charts = {};
function chartOptions(el, series, extra = {}) {
  return {
    width: el.clientWidth,
    height: 200,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    // Half a minute of room at each end, so the first and last minute's bars are whole.
    scales: { x: { time: true, range: (_u, min, max) => [min - 30, max + 30] }, ...(extra.scales ?? {}) },
    axes: [
      { stroke: "#667085", grid: { stroke: "#eef0f4" }, ticks: { stroke: "#e3e7ee" } },
      { stroke: "#667085", grid: { stroke: "#eef0f4" }, ticks: { stroke: "#e3e7ee" }, size: 44 },
    ],
    series: [{}, ...series],
  };
}
function line(label, color, fill, dots) {
  // Ratios have gaps (minutes without calls): dots show a minute that stands alone between them.
  return { label, stroke: color, width: 2, fill: fill ? `${color}22` : undefined, spanGaps: false, points: dots ? { show: true, size: 6, fill: color } : { show: false } };
}
function bars(label, color) {
  return { label, stroke: color, fill: `${color}55`, width: 1, paths: uPlot.paths.bars({ size: [0.8, 12] }), points: { show: false } };
}

/** Creates (or rebuilds, when the series change) a chart and gives it data. */
function draw(key, series, data, extra) {
  const el = document.getElementById(`chart-${key}`);
  const names = series.map((s) => s.label).join("|");
  let c = charts[key];
  if (c !== undefined && c.names !== names) {
    c.plot.destroy();
    c = undefined;
  }
  if (c === undefined) {
    el.innerHTML = "";
    c = { names, plot: new uPlot(chartOptions(el, series, extra), data, el) };
    charts[key] = c;
  } else {
    c.plot.setData(data);
  }
}

function render(s) {
  document.getElementById("window-minutes").textContent = s.window.minutes;
  document.getElementById("updated").textContent = `Updated ${TL.time(s.at)}`;
  setFigure("fig-active", s.calls.length);
  setFigure("fig-cpm", s.window.callsPerMinute);
  const asr = s.window.asr;
  setFigure("fig-asr", asr, asr === null ? "" : "%", asr === null ? "" : asr >= 40 ? "good" : "bad");
  const mos = s.window.mos;
  setFigure("fig-mos", mos === null ? null : mos.toFixed(2), "", mos === null ? "" : mos >= 3.6 ? "good" : "bad");
  const checked = s.gateways.filter((g) => g.status !== "unknown");
  const down = checked.filter((g) => g.status === "down").length;
  const gw = document.getElementById("fig-gw");
  if (checked.length === 0) {
    setFigure("fig-gw", s.gateways.length === 0 ? null : "n/a");
    gw.querySelector(".note").textContent = "health checks off";
  } else {
    gw.querySelector(".value").innerHTML = `<span style="color:var(--good)">${checked.length - down}</span><span class="unit"> up</span> <span style="color:${down > 0 ? "var(--bad)" : "var(--muted)"}">${down}</span><span class="unit"> down</span>`;
    gw.querySelector(".note").textContent = `${checked.length} checked by OPTIONS`;
  }

  const g = document.getElementById("gauges");
  g.innerHTML = s.trunks.length === 0 ? `<p class="muted">No trunks provisioned.</p>` : s.trunks.map(gauge).join("");

  latest = s;
  drawCharts();
}

let latest = null;
let rangeMinutes = 60;

/** The last `minutes` of every series in the history. */
function recent(h, minutes) {
  const from = Math.max(0, h.t.length - minutes);
  const cut = (a) => a.slice(from);
  const failures = {};
  for (const [code, counts] of Object.entries(h.failures)) if (cut(counts).some((n) => n > 0)) failures[code] = cut(counts);
  return { t: cut(h.t), calls: cut(h.calls), answered: cut(h.answered), asr: cut(h.asr), mos: cut(h.mos), failures };
}

function drawCharts() {
  if (latest === null) return;
  const h = recent(latest.history, rangeMinutes);
  draw("calls", [bars("Calls", COLORS[0]), line("Answered", COLORS[1])], [h.t, h.calls, h.answered]);
  draw("asr", [line("ASR %", COLORS[1], true, true)], [h.t, h.asr], { scales: { y: { range: [0, 100] } } });
  draw("mos", [line("MOS", COLORS[4], true, true)], [h.t, h.mos], { scales: { y: { range: [1, 5] } } });
  document.getElementById("mos-note").textContent = h.mos.some((m) => m !== null) ? "answered calls" : "no MOS recorded in this range";
  const codes = Object.keys(h.failures);
  if (codes.length === 0) draw("failures", [line("No failures", "#98a2b3")], [h.t, h.t.map(() => 0)]);
  else draw("failures", codes.map((c, i) => line(c, COLORS[(i + 2) % COLORS.length])), [h.t, ...codes.map((c) => h.failures[c])]);
}

document.getElementById("range").addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-minutes]");
  if (b === null) return;
  rangeMinutes = Number(b.dataset.minutes);
  for (const x of document.querySelectorAll("#range button")) x.classList.toggle("active", x === b);
  drawCharts();
});

window.addEventListener("resize", () => {
  for (const [key, c] of Object.entries(charts)) c.plot.setSize({ width: document.getElementById(`chart-${key}`).clientWidth, height: 200 });
});

TL.follow(render);
