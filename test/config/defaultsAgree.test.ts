/**
 * A policy setting left out and a policy section given empty must mean the same: each section's
 * schema carries its fields' defaults and, for the section left out, a default object of its own.
 * The two are written apart, and once disagreed (policy.forecast.roles was false as a field and
 * true in the section's default object), so a changed default took effect only where a config
 * named the section.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseConfig } from '../../lib/config/index.js';

type Plain = Record<string, unknown>;
const isSection = (x: unknown): x is Plain => x !== null && typeof x === 'object' && !Array.isArray(x);

/** The same shape with every section present and every field left out. */
const emptySections = (x: Plain): Plain =>
  Object.fromEntries(
    Object.entries(x)
      .filter(([, v]) => isSection(v))
      .map(([k, v]) => [k, emptySections(v as Plain)]),
  );

describe('policy defaults', () => {
  const file = 'config/default.yaml';
  const doc = parse(readFileSync(file, 'utf8')) as Plain;
  const left = parseConfig({ ...doc, policy: {} }, file).policy as unknown as Plain;

  it('config/default.yaml names no policy section, so the sections below are all defaults', () => {
    expect(
      Object.keys((doc.policy as Plain) ?? {}).filter((k) => isSection((doc.policy as Plain)[k])),
    ).toEqual([]);
  });

  it.each(Object.keys(left).filter((k) => isSection(left[k])))('policy.%s: left out = given empty', (key) => {
    const given = parseConfig({ ...doc, policy: { [key]: emptySections(left[key] as Plain) } }, file)
      .policy as unknown as Plain;
    expect(given[key]).toEqual(left[key]);
  });
});
