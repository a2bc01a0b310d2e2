/**
 * An in-memory time-series store for scraped samples, answering the same windowed questions
 * the Prometheus collector asks (increase of counters, gauges now and a window ago). The
 * embedded simulation scrapes its servers into it, so its numbers reach the decision policy
 * through the same RawSignals → estimateObservation path as production metrics.
 */
import { GATEWAY_REQUEST_NAMES, GATEWAY_REQUESTS, VLLM, describeNaming } from './vllmNaming.js';
import type { ArrivalSteps } from './observation.js';
import type { BucketIncrease, HistogramIncrease, RawSignals, Signal } from './signals.js';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly times: number[];
  readonly values: number[];
  /** time the series stopped being exposed (its target went away), like a staleness marker */
  endedAt?: number;
}

export interface VariantSelector {
  /** `namespace/name` */
  readonly variant: string;
  readonly model: string;
  readonly namespace: string;
  /** only series whose `pod` label matches */
  readonly podPattern?: RegExp;
  /** only series with these label values (a disaggregated variant's role: docs/METRICS.md) */
  readonly labels?: Readonly<Record<string, string>>;
}

const seriesKey = (name: string, labels: Readonly<Record<string, string>>) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',')}}`;

export class SampleStore {
  private readonly series = new Map<string, Series>();
  private readonly byName = new Map<string, Series[]>();

  /**
   * @param origin when the counters it will see started from zero (the simulation's start): rates
   *   over a window reaching before it are taken over the time since, not the whole window
   */
  constructor(
    private readonly retentionSeconds = 3600,
    private readonly origin = -Infinity,
  ) {}

  /** Adds one scrape of every target at time t; series absent from it have ended. */
  ingest(t: number, samples: readonly Sample[]): void {
    const seen = new Set<string>();
    for (const s of samples) {
      const key = seriesKey(s.name, s.labels);
      seen.add(key);
      let series = this.series.get(key);
      if (!series) {
        series = { name: s.name, labels: s.labels, times: [], values: [] };
        this.series.set(key, series);
        const list = this.byName.get(s.name) ?? [];
        list.push(series);
        this.byName.set(s.name, list);
      }
      series.endedAt = undefined;
      series.times.push(t);
      series.values.push(s.value);
    }
    for (const [key, series] of this.series) {
      if (!seen.has(key) && series.endedAt === undefined) series.endedAt = t;
    }
    this.compact(t);
  }

  private compact(now: number): void {
    const horizon = now - this.retentionSeconds;
    for (const [key, series] of this.series) {
      if (series.endedAt !== undefined && series.endedAt < horizon) {
        this.series.delete(key);
        const list = this.byName.get(series.name)!;
        list.splice(list.indexOf(series), 1);
        continue;
      }
      let drop = 0;
      while (drop < series.times.length - 1 && series.times[drop + 1]! < horizon) drop++;
      if (drop > 0) {
        series.times.splice(0, drop);
        series.values.splice(0, drop);
      }
    }
  }

  private matching(
    name: string,
    sel: VariantSelector,
    extra?: (l: Record<string, string>) => boolean,
  ): Series[] {
    return (this.byName.get(name) ?? []).filter(
      (s) =>
        s.labels.model_name === sel.model &&
        s.labels.namespace === sel.namespace &&
        (!sel.podPattern || sel.podPattern.test(s.labels.pod ?? '')) &&
        (!sel.labels || Object.entries(sel.labels).every(([k, v]) => s.labels[k] === v)) &&
        (!extra || extra(s.labels)),
    );
  }

  /** Index of the last sample at or before t, -1 when none. */
  private lastIndexAt(s: Series, t: number): number {
    let lo = 0;
    let hi = s.times.length - 1;
    if (hi < 0 || s.times[0]! > t) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s.times[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Value of a series at time t (last sample at or before t), undefined if it was not exposed then. */
  private valueAt(s: Series, t: number): number | undefined {
    if (s.endedAt !== undefined && s.endedAt <= t) return undefined;
    const i = this.lastIndexAt(s, t);
    return i < 0 ? undefined : s.values[i];
  }

  private newest(list: Series[], now: number): number {
    let newest = -Infinity;
    for (const s of list) {
      for (let i = s.times.length - 1; i >= 0; i--) {
        if (s.times[i]! <= now) {
          newest = Math.max(newest, s.times[i]!);
          break;
        }
      }
    }
    return newest;
  }

  /** Sum over series of a counter's increase in (now - w, now], counting resets; a series born in the window counts from 0. */
  private increase(name: string, list: Series[], now: number, w: number): Signal | undefined {
    if (list.length === 0) return undefined;
    let total = 0;
    for (const s of list) {
      let prev = this.valueAt(s, now - w) ?? 0;
      for (let i = 0; i < s.times.length; i++) {
        const t = s.times[i]!;
        if (t <= now - w || t > now) continue;
        const v = s.values[i]!;
        total += v >= prev ? v - prev : v;
        prev = v;
      }
    }
    return { value: total, timestamp: this.newest(list, now), series: name };
  }

  /**
   * A counter's increase per step, summed over series: step k covers (start + k step, start +
   * (k + 1) step], resets counted and a series born in the look-back counted from 0, as increase().
   */
  private stepIncreases(list: Series[], start: number, step: number, n: number): number[] {
    const counts = new Array<number>(n).fill(0);
    const end = start + n * step;
    for (const s of list) {
      let prev = this.valueAt(s, start) ?? 0;
      for (let i = this.lastIndexAt(s, start) + 1; i < s.times.length && s.times[i]! <= end; i++) {
        const v = s.values[i]!;
        const k = Math.min(Math.max(Math.ceil((s.times[i]! - start) / step - 1e-9) - 1, 0), n - 1);
        counts[k]! += v >= prev ? v - prev : v;
        prev = v;
      }
    }
    return counts;
  }

  /**
   * Arrivals per step over the look-back ending now, from the counter the arrival rate uses: the
   * gateway's requests, or completions plus the growth of running + waiting. Undefined when those
   * series are not there (no burst information) or the look-back holds no whole step.
   */
  arrivalSteps(
    sel: VariantSelector,
    now: number,
    opts: { readonly stepSeconds: number; readonly lookbackSeconds: number; readonly gateway: boolean },
  ): ArrivalSteps | undefined {
    const step = opts.stepSeconds;
    const n = Math.floor(Math.min(opts.lookbackSeconds, now - this.origin) / step + 1e-9);
    if (!(n >= 1)) return undefined;
    const start = now - n * step;
    if (opts.gateway) {
      const { name, series } = this.gatewaySeries(sel);
      if (series.length === 0) return undefined;
      const counts = this.stepIncreases(series, start, step, n);
      return { stepSeconds: step, counts, source: name, timestamp: this.newest(series, now) };
    }
    const completed = this.matching(VLLM.success, sel);
    const waiting = this.matching(VLLM.waiting, sel);
    if (completed.length === 0 || waiting.length === 0) return undefined;
    const inFlight = [...this.matching(VLLM.running, sel), ...waiting];
    const counts = this.stepIncreases(completed, start, step, n);
    const inFlightAt = (t: number) => this.gaugeSum(VLLM.running, inFlight, t, now)!.value;
    let before = inFlightAt(start);
    for (let k = 0; k < n; k++) {
      const after = inFlightAt(start + (k + 1) * step);
      counts[k] = Math.max(counts[k]! + after - before, 0);
      before = after;
    }
    return {
      stepSeconds: step,
      counts,
      source: `${VLLM.success} + d(${VLLM.running}+${VLLM.waiting})/dt`,
      timestamp: this.newest(completed, now),
    };
  }

  /** The gateway's counter under the name its EPP version gives it, the newest first (it has no pod label). */
  private gatewaySeries(sel: VariantSelector): { name: string; series: Series[] } {
    const all = { ...sel, podPattern: undefined, labels: undefined };
    const name = GATEWAY_REQUEST_NAMES.find((n) => this.matching(n, all).length > 0) ?? GATEWAY_REQUESTS;
    return { name, series: this.matching(name, all) };
  }

  private gaugeSum(name: string, list: Series[], t: number, now: number): Signal | undefined {
    if (list.length === 0) return undefined;
    let sum = 0;
    let any = false;
    for (const s of list) {
      const v = this.valueAt(s, t);
      if (v !== undefined) {
        sum += v;
        any = true;
      }
    }
    // No replica exposed the gauge at t: zero in flight (none running), not an unknown.
    return { value: any ? sum : 0, timestamp: this.newest(list, now), series: name };
  }

  private histogram(
    base: string,
    sel: VariantSelector,
    now: number,
    w: number,
  ): HistogramIncrease | undefined {
    const sum = this.increase(`${base}_sum`, this.matching(`${base}_sum`, sel), now, w);
    const count = this.increase(`${base}_count`, this.matching(`${base}_count`, sel), now, w);
    return sum && count ? { sum, count } : undefined;
  }

  /**
   * Per-bucket increases of a histogram over the window, summed over replicas, as cumulative
   * counts by upper bound (+Inf last); undefined when the buckets are not exposed.
   */
  private buckets(base: string, sel: VariantSelector, now: number, w: number): BucketIncrease[] | undefined {
    const series = this.matching(`${base}_bucket`, sel);
    if (series.length === 0) return undefined;
    const byBound = new Map<string, Series[]>();
    for (const s of series) {
      const le = s.labels.le ?? '';
      byBound.set(le, [...(byBound.get(le) ?? []), s]);
    }
    const out: BucketIncrease[] = [];
    for (const [le, list] of byBound) {
      const bound = le === '+Inf' ? Infinity : Number(le);
      if (Number.isNaN(bound)) continue;
      const inc = this.increase(`${base}_bucket`, list, now, w);
      if (inc) out.push({ le: bound, count: inc.value });
    }
    return out.sort((a, b) => a.le - b.le);
  }

  /** The windowed signals of one variant, naming which expected series were absent. */
  rawSignals(sel: VariantSelector, now: number, window: number): RawSignals {
    const windowSeconds = Math.min(window, now - this.origin);
    const absent: string[] = [];
    const need = <T>(name: string, value: T | undefined): T | undefined => {
      if (value === undefined) absent.push(name);
      return value;
    };
    const firstPresent = (names: readonly string[], suffix: string) =>
      names.find((n) => this.matching(`${n}${suffix}`, sel).length > 0);
    const running = this.matching(VLLM.running, sel);
    const waiting = this.matching(VLLM.waiting, sel);
    const itlName = firstPresent(VLLM.perTokenTime, '_sum');
    const kvName = firstPresent(VLLM.kvUsage, '');
    const inFlight = [...running, ...waiting];
    const alive = running.filter((s) => this.valueAt(s, now) !== undefined);
    const kvSeries = kvName
      ? this.matching(kvName, sel).filter((s) => this.valueAt(s, now) !== undefined)
      : [];
    const { name: gatewayName, series: gateway } = this.gatewaySeries(sel);
    return {
      variant: sel.variant,
      model: sel.model,
      windowSeconds,
      completions: need(
        VLLM.success,
        this.increase(VLLM.success, this.matching(VLLM.success, sel), now, windowSeconds),
      ),
      gatewayRequests:
        gateway.length > 0 ? this.increase(gatewayName, gateway, now, windowSeconds) : undefined,
      inFlightNow: need(
        VLLM.waiting,
        waiting.length > 0 ? this.gaugeSum(`${VLLM.running}+${VLLM.waiting}`, inFlight, now, now) : undefined,
      ),
      inFlightBefore:
        waiting.length > 0
          ? this.gaugeSum(`${VLLM.running}+${VLLM.waiting}`, inFlight, now - windowSeconds, now)
          : undefined,
      promptTokens: need(VLLM.promptTokens, this.histogram(VLLM.promptTokens, sel, now, windowSeconds)),
      generationTokens: need(
        VLLM.generationTokens,
        this.histogram(VLLM.generationTokens, sel, now, windowSeconds),
      ),
      promptTokenBuckets: this.buckets(VLLM.promptTokens, sel, now, windowSeconds),
      generationTokenBuckets: this.buckets(VLLM.generationTokens, sel, now, windowSeconds),
      requestTpotBuckets: this.buckets(VLLM.requestTpot, sel, now, windowSeconds),
      requestTtftBuckets: this.buckets(VLLM.ttft, sel, now, windowSeconds),
      ttftSeconds: need(VLLM.ttft, this.histogram(VLLM.ttft, sel, now, windowSeconds)),
      itlSeconds: itlName ? this.histogram(itlName, sel, now, windowSeconds) : need(VLLM.itl[0], undefined),
      decodeSeconds: this.histogram(VLLM.decodeTime, sel, now, windowSeconds),
      running: need(VLLM.running, this.gaugeSum(VLLM.running, running, now, now)),
      waiting: this.gaugeSum(VLLM.waiting, waiting, now, now),
      kvCacheUsage:
        kvSeries.length > 0
          ? {
              ...this.gaugeSum(kvName!, kvSeries, now, now)!,
              value: this.gaugeSum(kvName!, kvSeries, now, now)!.value / kvSeries.length,
            }
          : undefined,
      readyReplicas:
        running.length > 0
          ? { value: alive.length, timestamp: this.newest(running, now), series: VLLM.running }
          : undefined,
      vllmNaming: describeNaming(itlName, kvName),
      kvTransferSeconds: this.histogram(VLLM.kvTransferTime, sel, now, windowSeconds),
      kvTransferFailures: this.increase(
        VLLM.kvTransferFailures,
        this.matching(VLLM.kvTransferFailures, sel),
        now,
        windowSeconds,
      ),
      absent,
    };
  }
}
