/**
 * The policy's defaults are one set: a section left out of the config (zod's object default) is
 * the section written empty (its fields' own defaults). The two are written apart in
 * lib/config/schema.ts; when they drift, a default changed in one place holds only for configs
 * that happen to name the section (policy.forecast.roles did: true when `forecast:` was left out,
 * false when it was written).
 */
import { policySchema } from '../../lib/config/schema.js';

type Section = Record<string, unknown>;

const isSection = (v: unknown): v is Section => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every path to an object in the parsed policy, outermost first. */
function sectionPaths(value: Section, prefix: readonly string[] = []): string[][] {
  return Object.entries(value).flatMap(([key, v]) =>
    isSection(v) ? [[...prefix, key], ...sectionPaths(v, [...prefix, key])] : [],
  );
}

/** A policy that names only the sections along the path, each empty. */
function writtenEmpty(path: readonly string[]): Section {
  return path.reduceRight<Section>((inner, key) => ({ [key]: inner }), {});
}

describe('policy defaults', () => {
  const leftOut = policySchema.parse({});
  const paths = sectionPaths(leftOut);

  it('has sections to compare', () => {
    expect(paths.map((p) => p.join('.'))).toEqual(expect.arrayContaining(['forecast', 'forecast.seasonal']));
  });

  it.each(paths.map((p) => [p.join('.'), p] as const))(
    '%s left out is the section written empty',
    (_name, path) => {
      expect(policySchema.parse(writtenEmpty(path))).toEqual(leftOut);
    },
  );

  it("leaves the trend's forecast off at a disaggregated variant's roles either way", () => {
    expect(leftOut.forecast.roles).toBe(false);
    expect(policySchema.parse({ forecast: {} }).forecast.roles).toBe(false);
  });
});
