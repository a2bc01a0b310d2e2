/**
 * `cdk synth` (the aws-cdk CLI on cdk.json's app) offline: the template and both functions'
 * assets, bundled locally by esbuild (ES module, source map, the config beside it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { offlineEnv, resourcesOf, type CfnTemplate } from './templates.js';

jest.setTimeout(120_000);

test('npx cdk synth writes the stack and the bundled functions, offline', () => {
  const out = mkdtempSync(join(tmpdir(), 'sva-cdk-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['node_modules/aws-cdk/bin/cdk', 'synth', '--no-notices', '--quiet', '-c', 'stage=ci', '-o', out],
      { encoding: 'utf8', env: { ...offlineEnv(), CDK_DISABLE_VERSION_CHECK: '1' }, timeout: 110_000 },
    );
    if (r.status !== 0) throw new Error(`cdk synth failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    const template = JSON.parse(readFileSync(join(out, 'sva-ci.template.json'), 'utf8')) as CfnTemplate;
    const functions = resourcesOf(template, 'AWS::Lambda::Function').map(([, f]) => f.Properties!);
    expect(functions.map((f) => f.FunctionName).sort()).toEqual([
      'sva-ci-apply',
      'sva-ci-evaluate',
      'sva-ci-ingest',
    ]);
    const assets = readdirSync(out).filter((d) => d.startsWith('asset.'));
    expect(assets).toHaveLength(3);
    for (const a of assets) {
      // minified, and no source map to ship (the unminified bundle was 6.5 MB, its map 9 MB)
      expect(readdirSync(join(out, a)).sort()).toEqual(['config', 'index.mjs']);
      expect(statSync(join(out, a, 'index.mjs')).size).toBeLessThan(3.5 * 1024 * 1024);
      expect(existsSync(join(out, a, 'config', 'default.yaml'))).toBe(true);
      expect(readFileSync(join(out, a, 'index.mjs'), 'utf8')).toMatch(
        /^import \{ createRequire as __sva_createRequire \}/,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
