/**
 * `npm run docs:config`: writes docs/CONFIG.md, the configuration reference, from the zod schema
 * in lib/config/schema.ts (its fields, types, bounds, defaults and `.describe()` texts), so that
 * the reference is never written twice. test/docs/configDocs.test.ts fails when the file is out
 * of date.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../lib/config/schema.js';

export const CONFIG_DOCS = 'docs/CONFIG.md';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  minItems?: number;
}

interface Row {
  readonly field: string;
  readonly type: string;
  readonly presence: string;
  readonly description: string;
}

/** Bounds worth telling (not the integer type's own). */
function bounds(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.minimum !== undefined) parts.push(`>= ${s.minimum}`);
  if (s.exclusiveMaximum !== undefined) parts.push(`< ${s.exclusiveMaximum}`);
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) parts.push(`<= ${s.maximum}`);
  if (s.minLength) parts.push('not empty');
  if (s.minItems) parts.push(`at least ${s.minItems}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return alternatives.map(typeOf).join(' or ');
  const type = Array.isArray(s.type) ? s.type.join(' or ') : s.type;
  if (type === 'array') return `list of ${s.items ? plural(typeOf(s.items)) : 'values'}${bounds(s)}`;
  if (type === 'object') {
    if (s.properties) return 'object';
    if (s.additionalProperties && typeof s.additionalProperties === 'object')
      return `map of name to ${typeOf(s.additionalProperties)}`;
    return 'object';
  }
  return `${type ?? 'any'}${bounds(s)}`;
}

const plural = (t: string) => (t === 'object' ? 'objects' : t);

function presence(s: JsonSchema, required: boolean): string {
  if (s.default !== undefined) {
    const text = JSON.stringify(s.default);
    return text.length <= 40 ? `default \`${text}\`` : 'optional (defaults below)';
  }
  return required ? '**required**' : 'optional';
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One row per field, nested fields under dotted paths (`[]` for list items, `<name>` for map keys). */
function rows(s: JsonSchema, path: string, required: boolean, out: Row[]): void {
  out.push({
    field: path,
    type: typeOf(s),
    presence: presence(s, required),
    description: s.description ?? '',
  });
  const alternatives = (s.anyOf ?? s.oneOf ?? []).filter((a) => a.properties || a.additionalProperties);
  for (const a of alternatives) children(a, path, out);
  children(s, path, out);
}

function children(s: JsonSchema, path: string, out: Row[]): void {
  if (s.properties) {
    for (const [key, child] of Object.entries(s.properties))
      rows(child, `${path}.${key}`, (s.required ?? []).includes(key), out);
  } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    children(s.additionalProperties, `${path}.<name>`, out);
  } else if (s.items) {
    children(s.items, `${path}[]`, out);
  }
}

export function renderConfigDocs(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from lib/config/schema.ts by `npm run docs:config`: edit the schema, not this file. -->',
    '',
    'The config file (YAML or JSON) that `sva`, the Lambda functions (`SVA_CONFIG`) and the local stack read.',
    '`config/default.yaml` is a complete example and `events/local-config.yaml` a small one. Unknown fields are',
    'errors, and every error names the field. Below, `[]` stands for an item of a list and `<name>` for a key of',
    'a map (an accelerator, model, variant or node group name).',
    '',
  ];
  for (const [key, section] of Object.entries(schema.properties ?? {})) {
    const required = (schema.required ?? []).includes(key);
    lines.push(`## \`${key}\``, '');
    lines.push(
      `${typeOf(section)}, ${presence(section, required)}${section.description ? `: ${section.description}` : ''}`,
      '',
    );
    const out: Row[] = [];
    children(section, key, out);
    if (out.length === 0) continue;
    lines.push('| field | type | presence | description |', '| --- | --- | --- | --- |');
    for (const r of out)
      lines.push(`| \`${r.field}\` | ${cell(r.type)} | ${cell(r.presence)} | ${cell(r.description)} |`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  writeFileSync(CONFIG_DOCS, renderConfigDocs());
  process.stdout.write(`wrote ${CONFIG_DOCS}\n`);
}
