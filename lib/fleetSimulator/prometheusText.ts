/**
 * Scraped samples as plain data, and their rendering in the Prometheus text exposition format
 * (version 0.0.4), so that a later HTTP endpoint can serve what `FleetSim.scrape()` returns.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * One sample line of a scrape: `name{labels} value`. `family` is the name on the `# TYPE` line
 * (for histograms the name without `_bucket`/`_sum`/`_count`; for counters the `_total` name, as
 * Python's prometheus_client writes it) and `type` its type.
 */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly family: string;
  readonly type: MetricType;
}

/**
 * Formats a number the way Go's strconv 'g' (and prometheus_client's floatToGoString) does for
 * bucket bounds and values: `1.0`, `0.25`, `1e+06`, `+Inf`. Matching it keeps `le` label values
 * identical to a real vLLM scrape.
 */
export function formatPrometheusNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  const magnitude = Math.abs(value);
  // Python's repr (which prometheus_client starts from) switches to exponent notation outside
  // [1e-4, 1e16) and writes two-digit exponents; JavaScript's String() differs in both respects.
  if (magnitude !== 0 && (magnitude < 1e-4 || magnitude >= 1e16)) {
    return value
      .toExponential()
      .replace(/e([+-])(\d)$/, (_, sign: string, digit: string) => `e${sign}0${digit}`);
  }
  let text = String(value);
  if (/^-?\d+$/.test(text)) text += '.0';
  const dot = text.indexOf('.');
  if (value > 0 && dot > 6) {
    const mantissa = `${text[0]}.${text.slice(1, dot)}${text.slice(dot + 1)}`.replace(/[0.]+$/, '');
    return `${mantissa}e+0${dot - 1}`;
  }
  return text;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Renders samples as text exposition. Samples of a family must be contiguous in the output, so
 * families are written in order of first appearance with all of their samples together.
 */
export function renderPrometheusText(samples: readonly MetricSample[]): string {
  const families = new Map<string, { type: MetricType; lines: string[] }>();
  for (const sample of samples) {
    if (!METRIC_NAME.test(sample.name)) throw new Error(`invalid metric name "${sample.name}"`);
    let family = families.get(sample.family);
    if (family === undefined) {
      family = { type: sample.type, lines: [] };
      families.set(sample.family, family);
    } else if (family.type !== sample.type) {
      throw new Error(
        `metric family ${sample.family} has samples of types ${family.type} and ${sample.type}`,
      );
    }
    const labels = Object.entries(sample.labels).map(([name, value]) => {
      if (!LABEL_NAME.test(name)) throw new Error(`invalid label name "${name}" on ${sample.name}`);
      return `${name}="${escapeLabelValue(value)}"`;
    });
    const labelText = labels.length > 0 ? `{${labels.join(',')}}` : '';
    family.lines.push(`${sample.name}${labelText} ${formatPrometheusNumber(sample.value)}`);
  }
  let text = '';
  for (const [name, family] of families) {
    text += `# TYPE ${name} ${family.type}\n${family.lines.join('\n')}\n`;
  }
  return text;
}
