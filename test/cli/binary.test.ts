/** The real binary, bin/sva.js, as a child process. */
import { spawnSync } from 'node:child_process';

function sva(...args: string[]) {
  // Without jest's NODE_OPTIONS, as a user would run it.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, ['bin/sva.js', ...args], { encoding: 'utf8', env, timeout: 20000 });
}

describe('bin/sva.js', () => {
  it('solve prints the JSON solution and exits 0', () => {
    const child = sva('solve', 'test/fixtures/inferno/small.json');
    expect(child.status).toBe(0);
    expect(child.stderr).toBe('');
    const solution = JSON.parse(child.stdout) as { allocations: Record<string, { accelerator: string }> };
    expect(Object.keys(solution.allocations)).toHaveLength(15);
    expect(solution.allocations['Bronze-granite_13b']!.accelerator).toBe('G2');
  });

  it('a user error exits 1 with one line on stderr', () => {
    const child = sva('solve', 'test/fixtures/config/nope.yaml');
    expect(child.status).toBe(1);
    expect(child.stdout).toBe('');
    expect(child.stderr).toBe('sva solve: test/fixtures/config/nope.yaml: no such file\n');
  });

  it('analyze returns promptly on zero input and one output token', () => {
    const started = Date.now();
    const child = sva('analyze', 'test/fixtures/analyze/zero-service-time.json');
    expect(Date.now() - started).toBeLessThan(15000);
    expect(child.status).toBe(1);
    expect(child.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(child.stderr).toContain('service time is zero');
  });
});
