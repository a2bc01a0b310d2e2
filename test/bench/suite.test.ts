import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The benchmark as CI runs it: one command, a short slice of the day (two minutes after one of
 * warm-up), every policy and yardstick, the JSON of issue 13. The suite itself takes minutes.
 */
describe('npm run bench on a short slice', () => {
  it('prints every policy with the yardsticks attaining their target, and the JSON fields', () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-slice-'));
    const run = spawnSync(
      process.execPath,
      [
        'bin/run-ts.js',
        'bench/policies/run.ts',
        '--trace',
        'data/traces/servegen-mlarge-day6-24h.csv',
        '--duration',
        '120',
        '--json',
        '--no-cache',
        '--out',
        out,
      ],
      { encoding: 'utf8', timeout: 170_000 },
    );
    expect(run.stderr).toContain('suite run time:');
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as {
      policies: Record<string, Record<string, number | null>>;
      yardsticks: Record<string, { sloAttainment: number; attainsTarget: boolean }>;
      errors: string[];
    };
    expect(result.errors).toEqual([]);
    expect(Object.keys(result.policies)).toEqual([
      'sva',
      'oracle',
      'oracle-lead',
      'static-best',
      'keda-epp',
      'dynamo-planner',
      'keda-queue',
      'hpa-kv',
      'wva',
      'static-peak',
    ]);
    for (const y of Object.values(result.yardsticks)) expect(y.attainsTarget).toBe(true);
    for (const p of Object.values(result.policies)) {
      for (const field of ['sloAttainment', 'ttftAttainment', 'itlAttainment', 'cost', 'gpuHours']) {
        expect(typeof p[field]).toBe('number');
      }
      for (const field of ['costVsOracle', 'costVsOracleLead', 'costVsStatic'])
        expect(p[field]).toBeGreaterThan(0);
    }
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toEqual(result);
  }, 180_000);
});
