/** Pieces of the self-contained HTML reports (the simulation's and the policy benchmark's). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Chart.js's UMD build, to inline in a page so that it opens offline. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its module entry points; the UMD build sits beside them.
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
