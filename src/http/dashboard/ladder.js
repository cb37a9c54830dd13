// The SIP ladder of a call on its detail page: one column per party (the caller's side, Trunkline's
// A and B sides, each target tried), one arrow per message in time order; clicking an arrow shows
// the message as it was on the wire. Text and PCAP downloads go through the API with the token.
"use strict";

(function () {
  const ROW = 34;
  const HEAD = 64;
  const TIME_W = 118;
  const BOX_W = 156;
  const NS = "http://www.w3.org/2000/svg";

  function kindOf(item) {
    const s = item.summary;
    if (s.kind === "request") return "req";
    if (s.status < 200) return "prov";
    if (s.status < 300) return "ok";
    if (s.status < 400) return "redir";
    return "fail";
  }

  function labelOf(item) {
    const s = item.summary;
    const base = s.kind === "request" ? s.method : `${s.status} ${s.reason ?? ""}`.trim();
    return s.bodyLength > 0 && /\r?\n(content-type|c)\s*:\s*application\/sdp/i.test(item.raw) ? `${base} (SDP)` : base;
  }

  function offset(ms) {
    return ms < 1000 ? `+${ms.toFixed(1)} ms` : `+${(ms / 1000).toFixed(3)} s`;
  }

  function clock(at) {
    const d = new Date(at);
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  /** The parties of the ladder, left to right, and where each message goes between them. */
  function columns(items, record) {
    const inbound = record.direction === "inbound";
    const gatewayNames = new Map();
    for (const a of record.attempts ?? []) {
      const m = /@?\[?([0-9a-fA-F.:]+?)\]?:(\d+)/.exec(a.target.replace(/^sips?:/, "").split(";")[0]);
      if (m !== null) gatewayNames.set(`${m[1]}:${m[2]}`, a.gatewayId ?? a.carrierId);
    }
    const cols = [];
    const byKey = new Map();
    const add = (key, title, sub, kind) => {
      if (!byKey.has(key)) {
        byKey.set(key, cols.length);
        cols.push({ key, title, sub, kind });
      }
      return byKey.get(key);
    };
    // Fixed order: A-side peers, our A side, our B side, then targets in the order tried.
    const peerA = items.filter((i) => i.leg === "a");
    const legB = items.filter((i) => i.leg === "b");
    const named = (kind, name) => (name === null || name === undefined ? kind : `${kind} · ${name}`);
    for (const i of peerA) add(`pa|${i.remote}`, inbound ? named("Carrier", record.carrierId) : named("PBX", record.customerId), i.remote, "peer");
    for (const i of peerA) add(`ua|${i.local}`, "Trunkline · A side", i.local, "us");
    for (const i of legB) add(`ub|${i.local}`, "Trunkline · B side", i.local, "us");
    for (const i of legB) {
      const name = gatewayNames.get(i.remote.replace(/^\[|\](?=:)/g, ""));
      add(`pb|${i.remote}`, inbound ? named("PBX", record.customerId) : named("Gateway", name), i.remote, "peer");
    }
    const flows = items.map((i) => {
      const us = byKey.get(`${i.leg === "a" ? "ua" : "ub"}|${i.local}`);
      const peer = byKey.get(`${i.leg === "a" ? "pa" : "pb"}|${i.remote}`);
      return i.direction === "in" ? { from: peer, to: us } : { from: us, to: peer };
    });
    return { cols, flows };
  }

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function draw(body, detail, ladder, record) {
    const items = ladder.items;
    if (items.length === 0) {
      body.innerHTML = `<div class="empty">No SIP message was captured for this call.</div>`;
      return;
    }
    const { cols, flows } = columns(items, record);
    const width = Math.max(760, body.clientWidth || 1100);
    // Party boxes are centred on their lifelines: the outer ones must fit inside the drawing.
    // No message crosses between Trunkline's own two sides, so that gap is drawn narrower.
    const left = TIME_W + BOX_W / 2 + 8;
    const weights = cols.map((c, i) => (i === 0 ? 0 : c.kind === "us" && cols[i - 1].kind === "us" ? 0.6 : 1));
    const total = weights.reduce((a, b) => a + b, 0);
    const span = (width - left - BOX_W / 2 - 4) / Math.max(1, total);
    const at = weights.map((_, i) => left + weights.slice(0, i + 1).reduce((a, b) => a + b, 0) * span);
    const x = (c) => at[c];
    const height = HEAD + items.length * ROW + 14;
    const svg = el("svg", { class: "ladder", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "SIP ladder diagram" });
    const defs = el("defs", {});
    for (const k of ["req", "prov", "ok", "redir", "fail"]) {
      const marker = el("marker", { id: `arrow-${k}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
      marker.append(el("path", { d: "M0,0 L10,5 L0,10 z", class: `head ${k}` }));
      defs.append(marker);
    }
    svg.append(defs);

    // The B2BUA: Trunkline's two sides sit on one shaded band.
    const ours = cols.map((c, i) => (c.kind === "us" ? i : -1)).filter((i) => i >= 0);
    if (ours.length > 0) {
      const x0 = x(ours[0]) - BOX_W / 2 - 6;
      const x1 = x(ours[ours.length - 1]) + BOX_W / 2 + 6;
      svg.append(el("rect", { class: "b2bua", x: x0, y: 4, width: x1 - x0, height: height - 8, rx: 10 }));
    }
    cols.forEach((c, i) => {
      const cx = x(i);
      svg.append(el("line", { class: "lifeline", x1: cx, y1: HEAD - 6, x2: cx, y2: height - 6 }));
      const box = el("g", { class: `party ${c.kind}` });
      box.append(el("rect", { x: cx - BOX_W / 2, y: 10, width: BOX_W, height: 42, rx: 8 }));
      box.append(el("text", { x: cx, y: 27, class: "title" }, c.title.length > 22 ? `${c.title.slice(0, 21)}…` : c.title));
      box.append(el("title", {}, `${c.title} (${c.sub})`));
      box.append(el("text", { x: cx, y: 44, class: "sub" }, c.sub));
      svg.append(box);
    });

    const t0 = items[0].at;
    const seen = new Map();
    items.forEach((item, n) => {
      const y = HEAD + n * ROW + ROW / 2 + 4;
      const { from, to } = flows[n];
      const kind = kindOf(item);
      const dupKey = `${item.direction}|${item.src}|${item.dst}|${item.raw}`;
      const retrans = seen.has(dupKey);
      seen.set(dupKey, true);
      const g = el("g", { class: `msg ${kind}${retrans ? " retrans" : ""}`, "data-index": n, "data-label": labelOf(item), tabindex: 0 });
      g.append(el("rect", { class: "hit", x: 0, y: y - ROW / 2 - 4, width, height: ROW }));
      g.append(el("text", { x: 8, y: y - 5, class: "time" }, clock(item.at)));
      g.append(el("text", { x: 8, y: y + 9, class: "offset" }, offset(item.at - t0)));
      const x1 = x(from);
      const x2 = x(to);
      const dir = x2 >= x1 ? 1 : -1;
      g.append(el("line", { class: "arrow", x1: x1 + dir * 3, y1: y, x2: x2 - dir * 3, y2: y, "marker-end": `url(#arrow-${kind})` }));
      const label = `${labelOf(item)}${retrans ? " ↻" : ""}`;
      g.append(el("text", { x: (x1 + x2) / 2, y: y - 6, class: "label" }, label));
      g.append(el("text", { x: (x1 + x2) / 2, y: y + 13, class: "cseq" }, item.protocol === "UDP" ? item.summary.cseq ?? "" : `${item.protocol} · ${item.summary.cseq ?? ""}`));
      g.addEventListener("click", () => select(svg, detail, items, n));
      g.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") select(svg, detail, items, n);
      });
      svg.append(g);
    });
    body.replaceChildren(svg);
  }

  function select(svg, detail, items, n) {
    for (const g of svg.querySelectorAll("g.msg.selected")) g.classList.remove("selected");
    svg.querySelector(`g.msg[data-index="${n}"]`)?.classList.add("selected");
    const item = items[n];
    detail.classList.remove("hidden");
    detail.innerHTML =
      `<div class="head"><span class="badge ${item.direction === "in" ? "info" : "accent"}">${item.direction === "in" ? "received" : "sent"} · leg ${item.leg.toUpperCase()}</span>` +
      `<span class="mono">#${n + 1} · ${TL.esc(TL.dateTime(item.at))}.${String(Math.floor(item.at % 1000)).padStart(3, "0")} · ${TL.esc(item.protocol)} ${TL.esc(item.src)} &rarr; ${TL.esc(item.dst)}</span>` +
      `<button class="small" type="button" data-close>Close</button></div>` +
      `<pre class="sip-raw">${TL.esc(item.raw.replace(/\r\n/g, "\n"))}</pre>`;
    detail.querySelector("[data-close]").addEventListener("click", () => {
      detail.classList.add("hidden");
      svg.querySelector("g.msg.selected")?.classList.remove("selected");
    });
  }

  /** Downloads through fetch, so the API token travels in the Authorization header. */
  function wireDownload(link, url, name) {
    link.href = url;
    link.setAttribute("download", name);
    link.onclick = async (ev) => {
      if (TL.token() === null) return; // no token in use: the plain link works
      ev.preventDefault();
      const res = await TL.api(url);
      if (!res.ok) {
        TL.toast(`Download failed: HTTP ${res.status}`, true);
        return;
      }
      const blob = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = blob;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(blob), 10_000);
    };
  }

  /** Loads and draws the ladder of `record` (a CDR) into `section`; refreshes while the call is live. */
  function load(section, record) {
    const body = section.querySelector("#sip-ladder-body");
    const detail = section.querySelector("#sip-ladder-message");
    const count = section.querySelector("#sip-ladder-count");
    const base = `/api/v1/calls/${encodeURIComponent(record.id)}/sip`;
    const safe = record.id.replace(/[^A-Za-z0-9._-]/g, "_");
    wireDownload(section.querySelector("#sip-ladder-text"), `${base}?format=text`, `call-${safe}.txt`);
    wireDownload(section.querySelector("#sip-ladder-pcap"), `${base}?format=pcap`, `call-${safe}.pcap`);
    let shown = -1;
    const refresh = () =>
      TL.getJson(base)
        .then((ladder) => {
          if (ladder.items.length !== shown) {
            shown = ladder.items.length;
            draw(body, detail, ladder, record);
          }
          count.textContent = `${ladder.items.length} messages${ladder.dropped > 0 ? ` (${ladder.dropped} more not kept)` : ""}${ladder.live ? " · capturing" : ""}`;
          section.dataset.state = ladder.live ? "live" : "saved";
          if (ladder.live) setTimeout(refresh, 2000);
        })
        .catch((e) => {
          section.dataset.state = "none";
          count.textContent = "";
          body.innerHTML = `<div class="empty">${TL.esc(e.message)}</div>`;
          for (const id of ["#sip-ladder-text", "#sip-ladder-pcap"]) section.querySelector(id).classList.add("hidden");
        });
    void refresh();
  }

  window.SipLadder = { load };
})();
