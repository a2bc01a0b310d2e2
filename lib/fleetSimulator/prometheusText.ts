/**
 * Scraped samples as plain data, the form `FleetSim.scrape()` returns; the vLLM emulator turns
 * them into text exposition with prom-client (lib/adapters/vllmEmulator/promClientText.ts).
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
