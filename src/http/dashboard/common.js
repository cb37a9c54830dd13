// Shared by every dashboard page: the top bar, the API token (asked once, kept in sessionStorage),
// API calls, the live event stream and small formatters. Plain browser JavaScript, no build step.
"use strict";

(function () {
  const TOKEN_KEY = "trunkline.token";
  const PAGES = [
    ["overview", "/dashboard", "Overview"],
    ["calls", "/dashboard/calls", "Live calls"],
    ["trunks", "/dashboard/trunks", "Trunks"],
    ["cdrs", "/dashboard/cdrs", "CDRs"],
    ["planner", "/dashboard/planner", "Planner"],
  ];

  /** Escapes text for innerHTML. */
  function esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  /** Draws the top bar; `active` is one of the PAGES keys; `live` shows the live-update state. */
  function chrome(active, live = true) {
    const bar = document.createElement("header");
    bar.className = "topbar";
    bar.innerHTML =
      `<a class="brand" href="/dashboard"><span class="logo">&#9742;</span>Trunkline</a>` +
      `<nav class="nav">${PAGES.map(([key, href, label]) => `<a href="${href}" data-page="${key}"${key === active ? ' class="active"' : ""}>${label}</a>`).join("")}</nav>` +
      `<div class="live${live ? "" : " hidden"}" id="live-state" title="Live updates"><span class="dot"></span><span class="text">connecting</span></div>`;
    document.body.prepend(bar);
  }

  function setLive(state, text) {
    const el = document.getElementById("live-state");
    if (el === null) return;
    el.className = `live ${state}`;
    el.querySelector(".text").textContent = text;
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function authHeaders() {
    const t = token();
    return t === null ? {} : { authorization: `Bearer ${t}` };
  }

  let asking = null;
  /** Shows the token prompt once; resolves when a token that the server accepts is stored. */
  function askToken(message) {
    if (asking !== null) return asking;
    asking = new Promise((resolve) => {
      const back = document.createElement("div");
      back.className = "modal-back";
      back.innerHTML =
        `<form class="modal" id="token-form"><h2>API token needed</h2>` +
        `<p class="muted small">This server asks for a token (one of <code>http.tokens</code>). It is kept in this browser tab only.</p>` +
        `<input type="password" id="token-input" placeholder="Bearer token" autocomplete="off" autofocus>` +
        `<div class="error" id="token-error">${esc(message ?? "")}</div>` +
        `<div class="actions"><button class="primary" type="submit">Continue</button></div></form>`;
      document.body.append(back);
      back.querySelector("form").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const value = back.querySelector("#token-input").value.trim();
        if (value === "") return;
        const res = await fetch("/api/v1/health", { headers: { authorization: `Bearer ${value}` } });
        if (res.status === 401) {
          back.querySelector("#token-error").textContent = "That token is not accepted.";
          return;
        }
        sessionStorage.setItem(TOKEN_KEY, value);
        back.remove();
        asking = null;
        resolve();
      });
    });
    return asking;
  }

  /** fetch() on the API with the token; asks for one on 401 and retries. */
  async function api(path, options = {}) {
    for (;;) {
      const res = await fetch(path, { ...options, headers: { ...(options.headers ?? {}), ...authHeaders() } });
      if (res.status !== 401) return res;
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken();
    }
  }

  /** GET path as JSON; throws an Error with the API's message on failure. */
  async function getJson(path) {
    const res = await api(path);
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
    return body;
  }

  /**
   * Follows /api/v1/events and calls onSnapshot(snapshot) for each `snapshot` event. Uses fetch
   * (not EventSource) so the token travels in the Authorization header; reconnects after errors.
   */
  function follow(onSnapshot) {
    let stopped = false;
    const run = async () => {
      while (!stopped) {
        try {
          const res = await api("/api/v1/events", { headers: { accept: "text/event-stream" } });
          if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
          setLive("on", "live");
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            let cut;
            while ((cut = buffer.indexOf("\n\n")) >= 0) {
              const frame = buffer.slice(0, cut);
              buffer = buffer.slice(cut + 2);
              let event = "message";
              const data = [];
              for (const line of frame.split("\n")) {
                if (line.startsWith("event:")) event = line.slice(6).trim();
                else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
              }
              if (event === "snapshot" && data.length > 0) {
                try {
                  onSnapshot(JSON.parse(data.join("\n")));
                } catch (e) {
                  console.error("dashboard: bad snapshot", e);
                }
              }
            }
          }
        } catch (e) {
          console.warn("dashboard: event stream", e);
        }
        setLive("off", "reconnecting");
        await new Promise((r) => setTimeout(r, 2000));
      }
    };
    void run();
    return () => {
      stopped = true;
    };
  }

  const pad = (n) => String(n).padStart(2, "0");
  /** 2026-11-24 14:03:07 in local time. */
  function dateTime(ms) {
    if (ms === null || ms === undefined) return "";
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function time(ms) {
    if (ms === null || ms === undefined) return "";
    const d = new Date(ms);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  /** 1:02:03 or 2:03 for a duration in ms. */
  function duration(ms) {
    if (ms === null || ms === undefined || ms < 0) return "";
    const s = Math.floor(ms / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
  }

  const DISPOSITION_CLASS = { answered: "good", busy: "warn", "no-answer": "warn", cancelled: "", failed: "bad", refused: "bad", interrupted: "bad" };
  function dispositionBadge(d) {
    if (d === null || d === undefined) return `<span class="badge info">in progress</span>`;
    return `<span class="badge ${DISPOSITION_CLASS[d] ?? ""}">${esc(d)}</span>`;
  }
  const STATE_CLASS = { trying: "info", early: "warn", answered: "good" };
  function stateBadge(s) {
    return `<span class="badge ${STATE_CLASS[s] ?? ""}">${esc(s === "early" ? "ringing" : s)}</span>`;
  }
  function healthBadge(s) {
    if (s === "unknown") return `<span class="badge" title="OPTIONS health checks are off (health.enabled)">not checked</span>`;
    return `<span class="badge ${s === "up" ? "good" : "bad"}">${esc(s)}</span>`;
  }

  /** A channel-use bar: used of limit (limit undefined: no limit). */
  function channelBar(used, limit) {
    const pct = limit ? Math.min(100, Math.round((used / limit) * 100)) : 0;
    const cls = pct >= 90 ? "bad" : pct >= 70 ? "warn" : "";
    return `<div class="bar"><div class="track"><div class="fill ${cls}" style="width:${pct}%"></div></div><span class="text">${used} / ${limit ?? "&infin;"}</span></div>`;
  }

  let toastTimer = null;
  function toast(text, bad) {
    let el = document.querySelector(".toast");
    if (el === null) {
      el = document.createElement("div");
      document.body.append(el);
    }
    el.className = `toast${bad ? " bad" : ""}`;
    el.textContent = text;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.remove(), 3500);
  }

  window.TL = { esc, chrome, api, getJson, follow, token, authHeaders, setLive, dateTime, time, duration, dispositionBadge, stateBadge, healthBadge, channelBar, toast };
})();
