/**
 * How much of what the stabilisation window holds is the rate's sampling noise (issue 14, branch
 * w16d): the suite's traces at their scale, counted as the policy counts them (arrivals over the
 * 60-s metrics window every 30 s); see arrivalNoise.ts for what is printed.
 *
 *   npm run bench:noise -- [--window S] [--json]
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { amplify, readTrace } from '../../lib/fleetSimulator/index.js';
import { noiseStandardErrors } from '../../lib/policy/windowNoise.js';
import { arrivalNoise, type NoiseSettings } from './arrivalNoise.js';
import { DEFAULT_TRACES } from './traces.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { window: { type: 'string', default: '1620' }, json: { type: 'boolean', default: false } },
  });
  const s: NoiseSettings = { rateWindowSeconds: 60, intervalSeconds: 30, holdSeconds: Number(values.window) };
  const rows = [];
  for (const t of DEFAULT_TRACES) {
    const trace = amplify(await readTrace(resolve(REPO_ROOT, t.path)), t.rateScale, 1);
    const arrivals = trace.requests.map((r) => r.arrival);
    rows.push({ trace: `${t.path} x${t.rateScale}`, ...arrivalNoise(arrivals, arrivals.at(-1) ?? 0, s) });
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ settings: s, rows }, null, 2)}\n`);
    return;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const z = noiseStandardErrors(s);
  const lines = [
    `rates over ${s.rateWindowSeconds} s every ${s.intervalSeconds} s; windows of ${s.holdSeconds} s (z = ${z.toFixed(2)}, the expected largest of ${(s.holdSeconds / s.rateWindowSeconds).toFixed(0)} standard normals)`,
    'trace                                        req/s  SE of a count  var/mean  highest above mean (share, SEs)  Poisson (SEs)  noise in the highest: poisson, measured',
    ...rows.map(
      (r) =>
        `${r.trace.padEnd(44)} ${r.meanRate.toFixed(2).padStart(5)}  ${pct(r.standardErrorShare).padStart(13)}  ${r.dispersion.toFixed(1).padStart(8)}  ${`${pct(r.highestAbove.share)}, ${r.highestAbove.standardErrors.toFixed(2)}`.padStart(31)}  ${r.poissonHighestAbove.toFixed(2).padStart(13)}  ${pct(r.noiseShare.poisson)}, ${pct(r.noiseShare.measured)}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main(process.argv.slice(2));
