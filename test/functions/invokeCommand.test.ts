/** `sva invoke`: its arguments, event files and time placeholders (the runs themselves: test/integration/aws/invoke.test.ts). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../lib/cli/main.js';
import { expandTimePlaceholders, lambdaContext, readEvent } from '../../lib/cli/invokeCommand.js';

async function sva(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    args,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('wrong words are usage errors (exit 2)', async () => {
  expect(await sva('invoke')).toMatchObject({
    code: 2,
    err: expect.stringContaining('sva invoke: invoke needs a function and an EVENT_FILE'),
  });
  expect(await sva('invoke', 'scale', 'events/apply-one-decision.json')).toMatchObject({
    code: 2,
    err: expect.stringContaining('unknown function "scale" (evaluate, apply or ingest)'),
  });
  expect(await sva('invoke', 'apply', 'a.json', '--timeout', '0')).toMatchObject({ code: 2 });
  expect((await sva('--help')).out).toContain('usage: sva invoke evaluate|apply|ingest EVENT_FILE');
});

test('a missing or broken event file is one line and exit 1', async () => {
  expect(await sva('invoke', 'apply', 'events/nope.json')).toEqual({
    code: 1,
    out: '',
    err: 'sva invoke: events/nope.json: no such file',
  });
  const dir = mkdtempSync(join(tmpdir(), 'sva-invoke-'));
  writeFileSync(join(dir, 'bad.json'), '{"Records": [');
  expect((await sva('invoke', 'apply', join(dir, 'bad.json'))).err).toMatch(/bad\.json: invalid JSON/);
  writeFileSync(join(dir, 'scheduled.json'), '{"detail": {}}');
  expect(await sva('invoke', 'apply', join(dir, 'scheduled.json'))).toMatchObject({
    code: 1,
    err: `sva invoke: ${join(dir, 'scheduled.json')}: an SQS event needs a Records array`,
  });
});

test('{{now}} and {{now-Ns}} become ISO times', () => {
  const now = Date.UTC(2026, 0, 2, 3, 4, 5);
  expect(expandTimePlaceholders('a {{now}} b {{now-600s}} {{later}}', now)).toBe(
    'a 2026-01-02T03:04:05.000Z b 2026-01-02T02:54:05.000Z {{later}}',
  );
  const event = readEvent('events/apply-one-decision.json', now) as { Records: { body: string }[] };
  expect(JSON.parse(event.Records[0]!.body).issuedAt).toBe('2026-01-02T03:04:05.000Z');
});

test('the Lambda context counts down from the timeout', () => {
  const ctx = lambdaContext('sva-apply', 30);
  expect(ctx.functionName).toBe('sva-apply');
  expect(ctx.getRemainingTimeInMillis()).toBeGreaterThan(29_000);
  expect(ctx.getRemainingTimeInMillis()).toBeLessThanOrEqual(30_000);
});
