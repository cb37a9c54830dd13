// A deliberately tiny Prometheus registry: counters, gauges and histograms with labels, rendered in the
// text exposition format (version 0.0.4). Misuse (bad name, wrong labels, a counter going down)
// is a bug in our code, so it throws rather than returning an error.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values by label name; every declared label must be given. */
export type Labels = Readonly<Record<string, string | number>>;

/** How a metric is declared. */
export interface MetricOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
}

/** A gauge may be refreshed just before each render, e.g. from a size() that is cheap to read. */
export interface GaugeOptions extends MetricOptions {
  readonly collect?: (gauge: Gauge) => void;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Throws on a bad metric name or label names (a bug in the declaring code). */
function checkDeclaration(options: MetricOptions): void {
  if (!METRIC_NAME.test(options.name)) throw new Error(`invalid metric name: ${options.name}`);
  const labelNames = options.labelNames ?? [];
  for (const l of labelNames) {
    if (!LABEL_NAME.test(l) || l.startsWith("__")) throw new Error(`invalid label name ${l} on ${options.name}`);
  }
  if (new Set(labelNames).size !== labelNames.length) throw new Error(`duplicate label name on ${options.name}`);
}

/** The values of every declared label, in declaration order; throws when one is missing or extra. */
function labelValues(name: string, labelNames: readonly string[], labels: Labels | undefined): string[] {
  const values: string[] = [];
  const given = labels ?? {};
  for (const n of labelNames) {
    const v = given[n];
    if (v === undefined) throw new Error(`metric ${name}: missing label ${n}`);
    values.push(String(v));
  }
  if (Object.keys(given).length !== labelNames.length) {
    throw new Error(`metric ${name}: expected labels ${labelNames.join(", ") || "(none)"}`);
  }
  return values;
}

abstract class Metric {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  // Keyed by the label values joined with NUL, which cannot appear in a sensible label value.
  protected readonly series = new Map<string, { labels: string[]; value: number }>();

  constructor(options: MetricOptions) {
    checkDeclaration(options);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
  }

  abstract readonly type: "counter" | "gauge";

  protected entry(labels: Labels | undefined): { labels: string[]; value: number } {
    const values = labelValues(this.name, this.labelNames, labels);
    const key = values.join("\u0000");
    let e = this.series.get(key);
    if (e === undefined) {
      e = { labels: values, value: 0 };
      this.series.set(key, e);
    }
    return e;
  }

  /** The current value of one series (0 if never touched); for tests and health checks. */
  get(labels?: Labels): number {
    return this.entry(labels).value;
  }

  /** Forgets every series, e.g. a gauge whose label set is rebuilt on each collect. */
  reset(): void {
    this.series.clear();
  }

  /** This metric's lines in the text format. */
  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    // An unlabelled metric is shown as 0 before its first update, so dashboards see it exists.
    if (this.labelNames.length === 0 && this.series.size === 0) out += `${this.name} 0\n`;
    for (const { labels, value } of this.series.values()) {
      const pairs = labels.map((v, i) => `${this.labelNames[i] ?? ""}="${escapeLabelValue(v)}"`);
      out += pairs.length === 0 ? `${this.name} ${formatValue(value)}\n` : `${this.name}{${pairs.join(",")}} ${formatValue(value)}\n`;
    }
    return out;
  }
}

/** A counter may mirror totals kept elsewhere (the SIP stack's own counts), copied just before each render. */
export interface CounterOptions extends MetricOptions {
  readonly collect?: (counter: Counter) => void;
}

/** A value that only goes up (requests received, calls rejected). */
export class Counter extends Metric {
  readonly type = "counter" as const;
  private readonly collector: ((counter: Counter) => void) | undefined;

  constructor(options: CounterOptions) {
    super(options);
    this.collector = options.collect;
  }

  /** Sets the series to a running total counted elsewhere; a total never goes down. */
  setTotal(labels: Labels | undefined, total: number): void {
    const e = this.entry(labels);
    if (!(total >= e.value)) throw new Error(`counter ${this.name}: total cannot go from ${e.value} to ${total}`);
    e.value = total;
  }

  /** Runs the collect hook, if any; called by the registry before rendering. */
  collect(): void {
    this.collector?.(this);
  }

  /** Adds amount (default 1, never negative) to the series with these labels. */
  inc(labels?: Labels, amount = 1): void {
    if (!(amount >= 0)) throw new Error(`counter ${this.name}: cannot add ${amount}`);
    this.entry(labels).value += amount;
  }
}

/** A value that goes up and down (active calls, open connections). */
export class Gauge extends Metric {
  readonly type = "gauge" as const;
  private readonly collector: ((gauge: Gauge) => void) | undefined;

  constructor(options: GaugeOptions) {
    super(options);
    this.collector = options.collect;
  }

  /** Sets the series with these labels. */
  set(labels: Labels | undefined, value: number): void {
    this.entry(labels).value = value;
  }

  /** Adds amount (default 1). */
  inc(labels?: Labels, amount = 1): void {
    this.entry(labels).value += amount;
  }

  /** Subtracts amount (default 1). */
  dec(labels?: Labels, amount = 1): void {
    this.entry(labels).value -= amount;
  }

  /** Runs the collect hook, if any; called by the registry before rendering. */
  collect(): void {
    this.collector?.(this);
  }
}

/** How a histogram is declared: upper bounds of its buckets, ascending (+Inf is implied). */
export interface HistogramOptions extends MetricOptions {
  readonly buckets: readonly number[];
}

/** One labelled series of a histogram: per-bucket (not cumulative) counts, then sum and count. */
interface HistogramSeries {
  readonly labels: string[];
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A histogram's figures for one label set; `buckets` are cumulative, as exposed (le, count). */
export interface HistogramSnapshot {
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly sum: number;
  readonly count: number;
}

/**
 * Observations counted into fixed buckets (media quality per call, latencies). Rendered as the
 * `_bucket{le=...}` (cumulative, ending with +Inf), `_sum` and `_count` series of the text format.
 */
export class Histogram {
  readonly type = "histogram" as const;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly buckets: readonly number[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(options: HistogramOptions) {
    checkDeclaration(options);
    const labelNames = options.labelNames ?? [];
    // `le` is the bucket label of the exposition format; a histogram cannot also use it (the spec forbids it).
    if (labelNames.includes("le")) throw new Error(`histogram ${options.name}: "le" is reserved`);
    const buckets = [...options.buckets];
    if (buckets.length === 0) throw new Error(`histogram ${options.name}: no buckets`);
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i] ?? NaN;
      if (!Number.isFinite(b)) throw new Error(`histogram ${options.name}: bucket ${b} is not finite (+Inf is implied)`);
      if (i > 0 && !(b > (buckets[i - 1] ?? -Infinity))) throw new Error(`histogram ${options.name}: buckets must ascend`);
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = labelNames;
    this.buckets = buckets;
  }

  /** Counts one observation; NaN is ignored (a figure that was not measured is not a zero). */
  observe(labels: Labels | undefined, value: number): void {
    if (Number.isNaN(value)) return;
    const s = this.entry(labels);
    // The first bucket whose upper bound holds the value; past the last one it is only in +Inf.
    let i = 0;
    while (i < this.buckets.length && value > (this.buckets[i] ?? Infinity)) i++;
    if (i < this.buckets.length) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
  }

  /** The figures of one series (all zero if never observed); for tests and checks. */
  snapshot(labels?: Labels): HistogramSnapshot {
    const s = this.entry(labels);
    let running = 0;
    const buckets = this.buckets.map((le, i) => {
      running += s.counts[i] ?? 0;
      return { le, count: running };
    });
    return { buckets, sum: s.sum, count: s.count };
  }

  /** Histograms are only observed; nothing to refresh before a render. */
  collect(): void {}

  /** This metric's lines in the text format. */
  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} histogram\n`;
    // Like an unlabelled counter, an unlabelled histogram is shown (all zero) before its first observation.
    if (this.labelNames.length === 0 && this.series.size === 0) this.entry(undefined);
    for (const s of this.series.values()) {
      const pairs = s.labels.map((v, i) => `${this.labelNames[i] ?? ""}="${escapeLabelValue(v)}"`);
      const prefix = pairs.length === 0 ? "" : `${pairs.join(",")},`;
      const plain = pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
      let running = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        running += s.counts[i] ?? 0;
        out += `${this.name}_bucket{${prefix}le="${formatValue(this.buckets[i] ?? Infinity)}"} ${running}\n`;
      }
      out += `${this.name}_bucket{${prefix}le="+Inf"} ${s.count}\n`;
      out += `${this.name}_sum${plain} ${formatValue(s.sum)}\n`;
      out += `${this.name}_count${plain} ${s.count}\n`;
    }
    return out;
  }

  private entry(labels: Labels | undefined): HistogramSeries {
    const values = labelValues(this.name, this.labelNames, labels);
    const key = values.join("\u0000");
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: values, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }
}

/** Any metric the registry holds. */
export type AnyMetric = Counter | Gauge | Histogram;

/** Holds every metric of one process and renders them for /metrics. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, AnyMetric>();

  /** Declares a counter; names are unique within the registry. */
  counter(options: CounterOptions): Counter {
    return this.add(new Counter(options));
  }

  /** Declares a gauge; names are unique within the registry. */
  gauge(options: GaugeOptions): Gauge {
    return this.add(new Gauge(options));
  }

  /** Declares a histogram; names are unique within the registry. */
  histogram(options: HistogramOptions): Histogram {
    return this.add(new Histogram(options));
  }

  /** The metric registered under name, if any. */
  find(name: string): AnyMetric | undefined {
    return this.metrics.get(name);
  }

  /** Everything in the Prometheus text format; serve with content type PROMETHEUS_CONTENT_TYPE. */
  render(): string {
    let out = "";
    for (const m of this.metrics.values()) {
      m.collect();
      out += m.render();
    }
    return out;
  }

  private add<M extends AnyMetric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is already registered`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

/** The content type of render()'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A fresh registry; main.ts creates one per server so parallel tests never share counters. */
export function createMetricsRegistry(): MetricsRegistry {
  return new MetricsRegistry();
}
