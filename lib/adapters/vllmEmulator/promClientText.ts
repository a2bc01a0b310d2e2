/**
 * Scraped samples exposed through prom-client: one Registry per scrape with a metric per family
 * (Gauge and Counter set to the sampled values, Histogram reporting the sampled bucket state), so
 * the text is prom-client's own exposition.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricSample } from '../../fleetSimulator/prometheusText.js';

type HistogramObject = Awaited<ReturnType<Histogram['get']>>;

/** Histogram#getForPromString: what prom-client's Registry renders a histogram from (absent from its typings). */
const baseGetForPromString = (
  Histogram.prototype as unknown as { getForPromString: (this: Histogram) => Promise<HistogramObject> }
).getForPromString;

/**
 * A prom-client Histogram that reports a given state (cumulative buckets, sum, count as scraped)
 * instead of accumulating observations: a replica's histograms arrive already counted, and
 * replaying every observation would cost one call per token.
 */
class SampledHistogram extends Histogram {
  constructor(
    name: string,
    labelNames: string[],
    registry: Registry,
    private readonly state: HistogramObject['values'],
  ) {
    super({ name, help: `${name} (vLLM emulator)`, labelNames, registers: [registry] });
  }

  async getForPromString(): Promise<HistogramObject> {
    return { ...(await baseGetForPromString.call(this)), values: this.state };
  }

  override async get(): Promise<HistogramObject> {
    return this.getForPromString();
  }
}

function labelNames(samples: readonly MetricSample[]): string[] {
  const names = new Set<string>();
  for (const s of samples) for (const k of Object.keys(s.labels)) if (k !== 'le') names.add(k);
  return [...names];
}

/** A prom-client registry holding exactly these samples. */
export function samplesRegistry(samples: readonly MetricSample[]): Registry {
  const families = new Map<string, MetricSample[]>();
  for (const s of samples) {
    const list = families.get(s.family);
    if (list) list.push(s);
    else families.set(s.family, [s]);
  }
  const registry = new Registry();
  for (const [family, list] of families) {
    const type = list[0]!.type;
    const names = labelNames(list);
    const config = {
      name: family,
      help: `${family} (vLLM emulator)`,
      labelNames: names,
      registers: [registry],
    };
    if (type === 'gauge') {
      const gauge = new Gauge(config);
      for (const s of list) gauge.set(s.labels, s.value);
    } else if (type === 'counter') {
      const counter = new Counter(config);
      for (const s of list) counter.inc(s.labels, s.value);
    } else {
      new SampledHistogram(
        family,
        names,
        registry,
        list.map((s) => ({ value: s.value, labels: { ...s.labels }, metricName: s.name })),
      );
    }
  }
  return registry;
}

/** The Prometheus text exposition (0.0.4) of the samples, as prom-client writes it. */
export async function exposition(samples: readonly MetricSample[]): Promise<string> {
  return samplesRegistry(samples).metrics();
}

export const EXPOSITION_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
