// Call statistics for the dashboard: a small in-memory rolling history of per-minute buckets,
// fed by polling the newest CDRs. Nothing here scans the whole CDR table after the first load.
import type { CallDetailRecord, CdrRepository } from "../ports/index.ts";

const MINUTE = 60_000;

/** One minute of calls, by the minute they started in. */
export interface MinuteBucket {
  /** Epoch ms of the minute's start. */
  readonly at: number;
  /** Calls that started in this minute (seen so far, ended or not). */
  started: number;
  /** Of those, calls that have ended. */
  ended: number;
  answered: number;
  mosSum: number;
  mosCount: number;
  /** Final SIP status of ended, unanswered calls -> count. */
  readonly failures: Record<string, number>;
}

/** Figures over the recent window (default the last 15 minutes). */
export interface WindowFigures {
  readonly minutes: number;
  readonly started: number;
  readonly ended: number;
  readonly answered: number;
  readonly callsPerMinute: number;
  /** Answer-seizure ratio in percent of ended calls; null with no ended call. */
  readonly asr: number | null;
  /** Average MOS of answered calls that carry one; null when none does. */
  readonly mos: number | null;
}

/** Per-minute series for the charts, oldest first, one entry per minute (gaps filled with 0/null). */
export interface ChartHistory {
  /** Epoch seconds of each minute (uPlot's x axis). */
  readonly t: number[];
  readonly calls: number[];
  readonly answered: number[];
  readonly asr: (number | null)[];
  readonly mos: (number | null)[];
  /** SIP code -> count per minute. */
  readonly failures: Record<string, number[]>;
}

export interface CallStatsOptions {
  readonly cdrs: CdrRepository;
  /** Wall-clock epoch ms; default Date.now. */
  readonly now?: () => number;
  /** Minutes of history kept for the charts; default 180 (three hours). */
  readonly historyMinutes?: number;
  /** Minutes the headline figures cover; default 15. */
  readonly windowMinutes?: number;
  /**
   * How far back each poll looks past the previous one, for rows written a little after their
   * startedAt (a call is opened after identify/route, a refused call only at its end); default 10 s.
   */
  readonly slackMs?: number;
  /** Rows read per search page; default 500. Rows per poll are capped at 20 pages. */
  readonly pageSize?: number;
}

export interface CallStats {
  /** Reads new and finished CDRs; the ids of calls in progress tell which open rows may have closed. */
  poll(activeIds: ReadonlySet<string>): Promise<void>;
  figures(): WindowFigures;
  history(): ChartHistory;
  /** Caller and callee of a call in progress, from its open CDR; undefined before the row is read. */
  parties(id: string): CallParties | undefined;
}

/** Numbers of a call, E.164 when normalized, else as received. */
export interface CallParties {
  readonly caller: string;
  readonly callee: string;
}

/**
 * The MOS of a record, from the per-leg media quality the relay stores in the CDR: the lowest MOS
 * of any leg and direction that has one, since a call is as good as its worst direction. Null for
 * calls without relayed media or without any MOS estimate.
 */
export function mosOf(record: CallDetailRecord): number | null {
  const media = record.media;
  if (media === undefined) return null;
  let worst: number | null = null;
  for (const q of [media.a.received, media.a.sent, media.b.received, media.b.sent]) {
    const v = q.mos;
    if (typeof v === "number" && v >= 1 && v <= 5 && (worst === null || v < worst)) worst = v;
  }
  return worst;
}

export function createCallStats(options: CallStatsOptions): CallStats {
  const now = options.now ?? Date.now;
  const historyMinutes = options.historyMinutes ?? 180;
  const windowMinutes = options.windowMinutes ?? 15;
  const slackMs = options.slackMs ?? 10_000;
  const pageSize = options.pageSize ?? 500;
  const buckets = new Map<number, MinuteBucket>();
  /** Ids seen started (counted in `started`), with their startedAt, pruned past the slack window. */
  const seen = new Map<string, number>();
  /** Ids seen still open: their end is counted when a later read finds them closed. */
  const open = new Map<string, number>();
  /** Caller and callee of open rows, to show with calls in progress. */
  const parties = new Map<string, CallParties>();
  let cursor: number | null = null;

  const bucketOf = (startedAt: number): MinuteBucket | undefined => {
    const at = Math.floor(startedAt / MINUTE) * MINUTE;
    if (at < Math.floor(now() / MINUTE) * MINUTE - historyMinutes * MINUTE) return undefined;
    let b = buckets.get(at);
    if (b === undefined) {
      b = { at, started: 0, ended: 0, answered: 0, mosSum: 0, mosCount: 0, failures: {} };
      buckets.set(at, b);
    }
    return b;
  };

  const countEnd = (r: CallDetailRecord): void => {
    const b = bucketOf(r.startedAt);
    if (b === undefined) return;
    b.ended += 1;
    if (r.answeredAt !== null) {
      b.answered += 1;
      const mos = mosOf(r);
      if (mos !== null) {
        b.mosSum += mos;
        b.mosCount += 1;
      }
    } else if (r.finalStatus !== null && r.finalStatus >= 300) {
      const code = String(r.finalStatus);
      b.failures[code] = (b.failures[code] ?? 0) + 1;
    }
  };

  const take = (r: CallDetailRecord): void => {
    if (!seen.has(r.id)) {
      seen.set(r.id, r.startedAt);
      const b = bucketOf(r.startedAt);
      if (b !== undefined) b.started += 1;
      if (r.endedAt === null) {
        open.set(r.id, r.startedAt);
        parties.set(r.id, { caller: r.callerE164 ?? r.callerRaw, callee: r.calleeE164 ?? r.calleeRaw });
      } else countEnd(r);
    } else if (open.has(r.id) && r.endedAt !== null) {
      open.delete(r.id);
      parties.delete(r.id);
      countEnd(r);
    }
  };

  const prune = (t: number): void => {
    const oldest = Math.floor(t / MINUTE) * MINUTE - historyMinutes * MINUTE;
    for (const at of buckets.keys()) if (at < oldest) buckets.delete(at);
    const seenFloor = (cursor ?? t) - slackMs - MINUTE;
    for (const [id, startedAt] of seen) if (startedAt < seenFloor && !open.has(id)) seen.delete(id);
    // A row left open long past the history (a crash, a lost close) is dropped, not re-read forever.
    for (const [id, startedAt] of open) {
      if (startedAt < oldest) {
        open.delete(id);
        parties.delete(id);
        seen.delete(id);
      }
    }
  };

  return {
    async poll(activeIds) {
      const t = now();
      const from = cursor === null ? t - historyMinutes * MINUTE : cursor - slackMs;
      // The first load pages through the whole history; later polls read only the last few seconds.
      const maxPages = cursor === null ? 200 : 20;
      for (let page = 0; page < maxPages; page++) {
        const { rows } = await options.cdrs.search({ from, limit: pageSize, offset: page * pageSize });
        for (const r of rows) take(r);
        if (rows.length < pageSize) break;
      }
      // Open rows whose call has left the call layer: read them again to count how they ended.
      for (const id of [...open.keys()]) {
        if (activeIds.has(id)) continue;
        const r = await options.cdrs.get(id);
        if (r === undefined) {
          open.delete(id);
          parties.delete(id);
          continue;
        }
        take(r);
      }
      cursor = t;
      prune(t);
    },

    figures() {
      const since = Math.floor(now() / MINUTE) * MINUTE - (windowMinutes - 1) * MINUTE;
      let started = 0;
      let ended = 0;
      let answered = 0;
      let mosSum = 0;
      let mosCount = 0;
      for (const b of buckets.values()) {
        if (b.at < since) continue;
        started += b.started;
        ended += b.ended;
        answered += b.answered;
        mosSum += b.mosSum;
        mosCount += b.mosCount;
      }
      return {
        minutes: windowMinutes,
        started,
        ended,
        answered,
        callsPerMinute: Math.round((started / windowMinutes) * 10) / 10,
        asr: ended === 0 ? null : Math.round((answered / ended) * 1000) / 10,
        mos: mosCount === 0 ? null : Math.round((mosSum / mosCount) * 100) / 100,
      };
    },

    parties(id) {
      return parties.get(id);
    },

    history() {
      const last = Math.floor(now() / MINUTE) * MINUTE;
      const first = last - (historyMinutes - 1) * MINUTE;
      const codes = new Set<string>();
      for (const b of buckets.values()) for (const c of Object.keys(b.failures)) codes.add(c);
      const h: ChartHistory = { t: [], calls: [], answered: [], asr: [], mos: [], failures: {} };
      for (const c of [...codes].sort()) h.failures[c] = [];
      for (let at = first; at <= last; at += MINUTE) {
        const b = buckets.get(at);
        h.t.push(at / 1000);
        h.calls.push(b?.started ?? 0);
        h.answered.push(b?.answered ?? 0);
        h.asr.push(b === undefined || b.ended === 0 ? null : Math.round((b.answered / b.ended) * 1000) / 10);
        h.mos.push(b === undefined || b.mosCount === 0 ? null : Math.round((b.mosSum / b.mosCount) * 100) / 100);
        for (const c of codes) h.failures[c]?.push(b?.failures[c] ?? 0);
      }
      return h;
    },
  };
}
