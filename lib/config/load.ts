/** Reading configuration and system files (YAML or JSON) from disk. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { SystemSpec } from '../optimizer/system.js';
import { InputError, zodToInputError } from './errors.js';
import { infernoToSystem, isInfernoDocument, parseInfernoSystem } from './inferno.js';
import { configSchema, type Config } from './schema.js';
import { configToSystem } from './toSystem.js';

export function readDocument(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${code ?? String(err)})`,
    );
  }
  if (/\.json$/i.test(path)) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new InputError(
        `${path}${jsonErrorPosition(text)}: invalid JSON: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }
  try {
    // YAML is a superset of JSON, so this also reads JSON files with other names. The alias
    // limit is the library's default, said here because it is what stops a billion-laughs file
    // from expanding into gigabytes.
    return parseYaml(text, { maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new InputError(
        `${path}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${err.message.split('\n')[0]}`,
      );
    }
    // Everything else the parser throws is about the text too (the alias limit is a
    // ReferenceError, very deep nesting a RangeError): still the user's to fix.
    throw new InputError(`${path}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

const MAX_YAML_ALIASES = 100;

/**
 * `:line:col` of the first character JSON.parse rejects. Node 20's messages do not always carry
 * the position, but a prefix ending before the bad character fails only for ending early, so
 * the position is found by bisecting on prefixes.
 */
function jsonErrorPosition(text: string): string {
  const failsOnlyByEnding = (length: number) => {
    try {
      JSON.parse(text.slice(0, length));
      return true;
    } catch (err) {
      // Either V8 says so, or it points at the very end of the prefix.
      const message = (err as Error).message;
      const at = /at position (\d+)/.exec(message);
      return /end of JSON input/.test(message) || (at !== null && Number(at[1]) >= length);
    }
  };
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (failsOnlyByEnding(mid)) lo = mid;
    else hi = mid - 1;
  }
  const before = text.slice(0, lo);
  const line = before.split('\n').length;
  return `:${line}:${lo - before.lastIndexOf('\n')}`;
}

export function parseConfig(doc: unknown, source: string): Config {
  const parsed = configSchema.safeParse(doc);
  if (!parsed.success) throw zodToInputError(source, parsed.error);
  return parsed.data;
}

export function loadConfig(path: string): Config {
  return parseConfig(readDocument(path), path);
}

export type LoadedSystem =
  | { readonly kind: 'inferno'; readonly system: SystemSpec }
  | { readonly kind: 'config'; readonly system: SystemSpec; readonly config: Config };

/** A file for `sva solve`: an Inferno SystemSpec or our config with a fixed load per variant. */
export function loadSystem(path: string): LoadedSystem {
  const doc = readDocument(path);
  if (isInfernoDocument(doc))
    return { kind: 'inferno', system: infernoToSystem(parseInfernoSystem(doc, path), path) };
  const config = parseConfig(doc, path);
  const missing = config.variants.findIndex((v) => v.load === undefined);
  if (missing >= 0)
    throw new InputError(`${path}: variants[${missing}].load: required to solve a fixed load`);
  const missingRoles = (config.disaggregated ?? []).find((v) => v.load === undefined);
  if (missingRoles)
    throw new InputError(`${path}: variant ${missingRoles.name}: load: required to solve a fixed load`);
  return { kind: 'config', system: configToSystem(config), config };
}
