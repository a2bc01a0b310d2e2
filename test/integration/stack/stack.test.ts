/**
 * `npm run stack` end to end: the real stack (Prometheus scraping the emulated fleet, moto,
 * etcd + kube-apiserver) with evaluate and apply run on a timer for a few cycles, then every
 * process it started stopped; and the same when stopped by SIGINT (Ctrl-C) mid-run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { jest } from '@jest/globals';

jest.setTimeout(240_000);

interface Run {
  readonly child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function runStack(args: string[]): Run {
  const child = spawn(process.execPath, ['bin/run-ts.js', 'stack/run.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (text += b.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

/** The PIDs the stack says it started (its start lines and its closing line). */
function startedPids(output: string): number[] {
  return [...output.matchAll(/\(pids? ([\d, ]+)/g)].flatMap((m) =>
    m[1]!.split(',').map((p) => Number(p.trim())),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Kills what a failed run may have left (by PID), so that a failing test leaks nothing. */
async function cleanUp(run: Run | undefined): Promise<void> {
  if (!run) return;
  if (run.child.exitCode === null) run.child.kill('SIGKILL');
  for (const pid of startedPids(run.output())) if (alive(pid)) process.kill(pid, 'SIGKILL');
}

let run: Run | undefined;
afterEach(async () => {
  await cleanUp(run);
  run = undefined;
});

test('--cycles 2: decisions and replicas printed each cycle, then every process stopped', async () => {
  run = runStack(['--cycles', '2', '--interval', '3']);
  const code = await run.exited;
  const out = run.output();
  expect({ code, out }).toMatchObject({ code: 0 });
  for (const line of [
    /^Prometheus +http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)$/m,
    /^moto +http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)$/m,
    // a moto server per service (stack/moto.ts), each named with its variable
    /^moto-sqs +http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)$/m,
    /^moto-dynamodb +http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)$/m,
    /^ {2}export AWS_ENDPOINT_URL_SQS=http:\/\/127\.0\.0\.1:\d+$/m,
    /^ {2}export AWS_ENDPOINT_URL_DYNAMODB=http:\/\/127\.0\.0\.1:\d+$/m,
    /^kube-apiserver +https:\/\/127\.0\.0\.1:\d+ \(pids \d+, \d+: etcd, kube-apiserver\)$/m,
    /^ {2}export SVA_QUEUE_URL=http:\/\/127\.0\.0\.1:\d+\/123456789012\/sva-decisions\.fifo$/m,
    /^cycle 1 .* pool default #1$/m,
    /^cycle 2 .* pool default #2$/m,
    /^ {2}llm\/chat-8b +(none|scale-up|scale-down|hold|migrate) +\S+ +\d+ -> \d+ /m,
    /^ {2}llm\/code-70b +(none|scale-up|scale-down|hold|migrate) +\S+ +\d+ -> \d+ /m,
    /^ {2}apply: 3 message\(s\) received \(2 decisions, 1 capacity intent\), 3 done, 0 failed/m,
    /^ {2}capacity asked: \S+ \d+/m,
    /^ {2}replicas llm\/chat-8b: \S+ \d+ \(\d+ ready\)/m,
    /^ {2}node groups: gpu-/m,
    /^ {2}in Prometheus \(remote write\): [1-9]\d* inferno_\* series of \d+ metrics; alerts firing: /m,
    /^stopped: prometheus \(pid \d+\), moto \(pid \d+\), moto-sqs \(pid \d+\), moto-dynamodb \(pid \d+\), moto-eks \(pid \d+\), moto-auto-scaling \(pid \d+\), etcd \(pid \d+\), kube-apiserver \(pid \d+\)$/m,
  ])
    expect(out).toMatch(line);
  expect(out).not.toMatch(/^cycle 3/m);
  const pids = startedPids(out);
  expect(pids).toHaveLength(16); // eight at start, the same eight at the end
  for (const pid of pids) expect({ pid, alive: alive(pid) }).toEqual({ pid, alive: false });
});

test('a Karpenter pool: the capacity intent checked against the NodePools, which the fleet provisions', async () => {
  run = runStack(['--config', 'config/karpenter.yaml', '--cycles', '2', '--interval', '3']);
  const code = await run.exited;
  const out = run.output();
  expect({ code, out }).toMatchObject({ code: 0 });
  for (const line of [
    /^cycle 2 .* pool default #2$/m,
    /^ {2}apply: 3 message\(s\) received \(2 decisions, 1 capacity intent\), 3 done, 0 failed/m,
    /^ {2}capacity asked: \S+ \d+/m,
    /^ {2}node groups: gpu-\S+ \d+ \(\d+ ready/m,
  ])
    expect(out).toMatch(line);
  expect(out).not.toMatch(/cycle \d failed/);
});

test('--shadow: the pool decides but nothing changes, and the shadow report ends the run', async () => {
  run = runStack(['--shadow', '--cycles', '3', '--interval', '3']);
  const code = await run.exited;
  const out = run.output();
  expect({ code, out }).toMatchObject({ code: 0 });
  expect(out).toMatch(/^pool in shadow mode: apply changes nothing/m);
  // the Deployments keep the replicas they started with, whatever was decided
  for (const variant of ['llm/chat-8b', 'llm/code-70b']) {
    const sizes = [...out.matchAll(new RegExp(`^ {2}replicas ${variant}: (.*)$`, 'gm'))].map((m) => m[1]);
    expect(sizes).toHaveLength(3);
    expect(new Set(sizes).size).toBe(1);
  }
  expect(out).toMatch(/^shadow report \(sva shadow-report over this run\):$/m);
  expect(out).toMatch(/^ {2}variant +day +hours +replicas sva\/ran +device-h sva\/ran +cost sva\/ran/m);
  expect(out).toMatch(/^ {2}llm\/chat-8b +\d{4}-\d\d-\d\d +\d+\.\d\d +[\d.]+\/[\d.]+ /m);
  expect(out).toMatch(/^ {2}llm\/code-70b +\d{4}-\d\d-\d\d /m);
  expect(out).not.toMatch(/cycle \d failed/);
});

test('Ctrl-C (SIGINT) stops the loop and every process it started', async () => {
  run = runStack(['--interval', '3']);
  const r = run;
  await waitFor('the first cycle', () => /alerts firing: /m.test(r.output()), 120_000);
  const before = startedPids(r.output());
  expect(before).toHaveLength(8);
  r.child.kill('SIGINT');
  const code = await r.exited;
  expect({ code, out: r.output() }).toMatchObject({ code: 0 });
  expect(r.output()).toMatch(/^SIGINT: stopping every process the stack started/m);
  expect(r.output()).toMatch(/^stopped: prometheus/m);
  for (const pid of before) expect({ pid, alive: alive(pid) }).toEqual({ pid, alive: false });
});
