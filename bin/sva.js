#!/usr/bin/env node
// The `sva` command. It runs a bundle of the TypeScript sources that esbuild makes on first use
// and again after any change under lib/: compiling on every start (as tsx does) costs most of a
// second, the bundle starts in about a tenth of that.
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const bundleDir = join(dist, 'cli');
const entry = join(bundleDir, 'main.js');

function newestSource() {
  let newest = statSync(join(root, 'package-lock.json')).mtimeMs;
  for (const file of readdirSync(join(root, 'lib'), { recursive: true })) {
    if (file.endsWith('.ts')) newest = Math.max(newest, statSync(join(root, 'lib', file)).mtimeMs);
  }
  return newest;
}

function bundleTime() {
  try {
    return statSync(entry).mtimeMs;
  } catch {
    return -Infinity;
  }
}

async function ensureBundle() {
  if (bundleTime() >= newestSource()) return entry;
  const { build } = await import('esbuild');
  mkdirSync(dist, { recursive: true });
  // Built aside and moved into place, so a concurrent `sva` never loads half a bundle.
  const tmp = mkdtempSync(join(dist, 'cli-'));
  await build({
    entryPoints: [join(root, 'lib', 'cli', 'main.ts')],
    outdir: tmp,
    bundle: true,
    splitting: true, // commands load their dependencies (AWS SDK, Kubernetes client) only when run
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
  try {
    rmSync(bundleDir, { recursive: true, force: true });
    renameSync(tmp, bundleDir);
    return entry;
  } catch {
    return join(tmp, 'main.js'); // another process moved its bundle in first: use ours this once
  }
}

const { main } = await import(pathToFileURL(await ensureBundle()).href);
process.exitCode = await main(process.argv.slice(2));
