/**
 * events/: every entry point has valid and invalid fixtures, each one is a valid JSON event of its
 * kind, is described in events/README.md, and is used by a test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEvent } from '../../lib/cli/invokeCommand.js';
import { parseGatewayMessage } from '../../lib/gateway/events.js';

const fixtures = readdirSync('events').filter((f) => f.endsWith('.json'));

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

test('each entry point has valid and invalid fixtures', () => {
  const evaluate = fixtures.filter((f) => f.startsWith('evaluate-') || f === 'scheduled.json');
  const apply = fixtures.filter((f) => f.startsWith('apply-'));
  const ingest = fixtures.filter((f) => f.startsWith('ingest-'));
  expect(evaluate.length + apply.length + ingest.length).toBe(fixtures.length);
  expect(ingest).toEqual(['ingest-gateway-events.json', 'ingest-malformed-events.json']);
  expect(evaluate).toEqual(
    expect.arrayContaining(['scheduled.json', 'evaluate-scheduled.json', 'evaluate-invalid-pool.json']),
  );
  expect(apply).toEqual(
    expect.arrayContaining([
      'apply-one-decision.json',
      'apply-several-decisions.json',
      'apply-malformed-decision.json',
      'apply-stale-decision.json',
    ]),
  );
});

test('each fixture parses as an event of its function', () => {
  for (const f of fixtures) {
    const event = readEvent(join('events', f)) as { Records?: { body: string; eventSource: string }[] };
    if (f.startsWith('apply-') || f.startsWith('ingest-')) {
      expect(event.Records?.length).toBeGreaterThan(0);
      for (const r of event.Records!) expect(r.eventSource).toBe('aws:sqs');
    } else {
      expect(event.Records).toBeUndefined();
    }
  }
});

test('the valid gateway fixture holds only events ingest accepts, the malformed one some it refuses', () => {
  const parses = (f: string) =>
    (readEvent(join('events', f)) as { Records: { body: string }[] }).Records.map(
      (r) => parseGatewayMessage(r.body).ok,
    );
  expect(parses('ingest-gateway-events.json').every(Boolean)).toBe(true);
  expect(parses('ingest-malformed-events.json')).toEqual([false, false, false, true, true]);
});

test('each fixture is described in events/README.md and used by a test', () => {
  const readme = readFileSync('events/README.md', 'utf8');
  const tests = testFiles('test')
    .filter((f) => !f.endsWith('fixtures.test.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  for (const f of fixtures) {
    expect({ f, described: readme.includes(`\`${f}\``) }).toEqual({ f, described: true });
    expect({ f, used: tests.includes(`events/${f}`) }).toEqual({ f, used: true });
  }
});
