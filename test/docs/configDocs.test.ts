/** docs/CONFIG.md is generated from the zod schema (npm run docs:config) and must be up to date. */
import { readFileSync } from 'node:fs';
import { CONFIG_DOCS, renderConfigDocs } from '../../scripts/configDocs.js';

test('docs/CONFIG.md matches lib/config/schema.ts (else: npm run docs:config)', () => {
  const expected = renderConfigDocs();
  const actual = readFileSync(CONFIG_DOCS, 'utf8');
  if (actual !== expected)
    throw new Error(`${CONFIG_DOCS} is out of date with lib/config/schema.ts: run npm run docs:config`);
});

test('every field of every section, with its description, is in the reference', () => {
  const docs = renderConfigDocs();
  for (const section of [
    'accelerators',
    'models',
    'serviceClasses',
    'variants',
    'capacity',
    'optimizer',
    'nodeGroups',
    'policy',
    'simulation',
  ])
    expect(docs).toContain(`## \`${section}\``);
  expect(docs).toContain(
    '| `policy.maxDecisionAgeSeconds` | number (> 0) | default `300` | the consumer drops older decisions |',
  );
  expect(docs).toContain(
    '| `variants[].metrics.podPattern` | string | optional | regular expression on the pod label',
  );
  expect(docs).toContain('| `accelerators[].costPerHour` | number (>= 0, <= 1000000) | **required** |');
});

test('the README links to the reference', () => {
  expect(readFileSync('README.md', 'utf8')).toContain('](docs/CONFIG.md)');
});
