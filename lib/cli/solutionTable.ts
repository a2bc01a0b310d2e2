/** A solution as an aligned text table, for people. */
import type { Solution, SystemSpec } from '../optimizer/index.js';

export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

export function formatSolutionTable(system: SystemSpec, solution: Solution, withCandidates: boolean): string {
  const rows: string[][] = [];
  let totalCost = 0;
  const servers = [...system.servers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const server of servers) {
    const a = solution.allocations.get(server.name);
    const load = `${fixed(server.load.arrivalRate, 1)}`;
    if (!a) {
      rows.push([server.name, '-', '-', '-', '-', '-', '-', load]);
      continue;
    }
    totalCost += a.cost;
    rows.push([
      server.name,
      a.accelerator || '(none)',
      String(a.numReplicas),
      String(a.maxBatch),
      fixed(a.cost, 2),
      fixed(a.itlAverage, 2),
      fixed(a.ttftAverage, 2),
      load,
    ]);
  }
  const parts = [
    renderTable(
      ['server', 'accelerator', 'replicas', 'maxBatch', 'cost/h', 'ITL ms', 'TTFT ms', 'req/min'],
      rows,
    ),
    `total cost/h: ${fixed(totalCost, 2)}   mode: ${system.optimizer.unlimited ? 'unlimited' : `limited, ${system.optimizer.saturationPolicy}`}`,
  ];
  const unallocated = servers.filter((s) => !solution.allocations.has(s.name));
  if (unallocated.length > 0) {
    parts.push('no allocation:');
    for (const s of unallocated) parts.push(`  ${s.name}: ${(solution.notes.get(s.name) ?? []).join('; ')}`);
  }
  if (withCandidates) {
    for (const s of servers) {
      const list = solution.candidates.get(s.name) ?? [];
      if (list.length === 0) continue;
      parts.push(
        `\ncandidates of ${s.name}:\n` +
          renderTable(
            ['accelerator', 'replicas', 'cost/h', 'value', 'ITL ms', 'TTFT ms', 'max req/s per replica'],
            list.map((c) => [
              c.accelerator || '(none)',
              String(c.numReplicas),
              fixed(c.cost, 2),
              fixed(c.value, 2),
              fixed(c.itlAverage, 2),
              fixed(c.ttftAverage, 2),
              fixed(c.maxRatePerReplica, 4),
            ]),
          ),
      );
    }
  }
  return parts.join('\n');
}
