/** `sva analyze FILE`: one replica's queue model at given rates, and its sizing against targets. */
import { z } from 'zod';
import { analyzeAt, AnalyzerError, buildReplicaModel, sizeReplica, targetRates } from '../analyzer/index.js';
import { parseConfig, readDocument } from '../config/load.js';
import { InputError } from '../config/errors.js';
import { disaggregatedInput } from '../config/toDisaggregated.js';
import type { Config } from '../config/schema.js';
import { variantKey } from '../config/variantKey.js';
import { decodeModel, prefillModel, sizeDisaggregated } from '../optimizer/disaggregated.js';
import { zodToInputError } from '../config/errors.js';
import { QUEUE_TO_BATCH_RATIO } from '../optimizer/index.js';
import { UsageError } from './errors.js';

export const ANALYZE_USAGE = `usage: sva analyze FILE
  FILE  JSON or YAML: { "maxBatchSize": N, "maxQueueSize"?: Q (default 10N),
        "profile": {alpha, beta, gamma, delta}, "request": {avgInputTokens, avgOutputTokens},
        "targets": {ttft, itl, tps} (0 = none), "rates": [req/s, ...] }, or an array of such objects;
        or an sva config whose disaggregated variants have a load: each role's replica on every
        accelerator it may use, and the plan for the load`;

const nonNegative = z.number().nonnegative();

const analysisSchema = z
  .object({
    maxBatchSize: z.number().int().positive(),
    maxQueueSize: z.number().int().nonnegative().optional(),
    profile: z
      .object({
        alpha: nonNegative,
        beta: nonNegative,
        gamma: nonNegative.default(0),
        delta: nonNegative.default(0),
      })
      .strict(),
    request: z.object({ avgInputTokens: nonNegative, avgOutputTokens: z.number().min(1) }).strict(),
    targets: z
      .object({ ttft: nonNegative.default(0), itl: nonNegative.default(0), tps: nonNegative.default(0) })
      .strict()
      .default({ ttft: 0, itl: 0, tps: 0 }),
    rates: z.array(z.number().positive()).default([]),
  })
  .strict();

type Analysis = z.output<typeof analysisSchema>;

function analyzeOne(a: Analysis) {
  const model = buildReplicaModel(a.profile, a.request, {
    maxBatchSize: a.maxBatchSize,
    maxQueueSize: a.maxQueueSize ?? QUEUE_TO_BATCH_RATIO * a.maxBatchSize,
  });
  const rates = targetRates(model, a.targets);
  const sizing = sizeReplica(model, a.targets);
  return {
    rateRange: model.rateRange,
    maxRate: sizing.feasible ? sizing.maxRate : null,
    ...rates,
    at: a.rates.map((rate) => {
      try {
        const m = analyzeAt(model, rate);
        return {
          rate,
          throughput: m.throughput,
          ttft: m.ttft,
          itl: m.itl,
          wait: m.wait,
          respTime: m.respTime,
          numInService: m.numInService,
          rho: m.rho,
        };
      } catch (err) {
        if (err instanceof AnalyzerError) return { rate, error: err.message };
        throw err;
      }
    }),
  };
}

export function analyzeCommand(args: string[], out: (line: string) => void): number {
  if (args.length !== 1 || args[0]!.startsWith('-')) throw new UsageError('analyze needs exactly one FILE');
  const file = args[0]!;
  const doc = readDocument(file);
  if (typeof doc === 'object' && doc !== null && 'variants' in doc) {
    out(JSON.stringify(analyzeRoles(parseConfig(doc, file), file), null, 2));
    return 0;
  }
  // Chosen by shape rather than with a union, so a bad field is named instead of "invalid input".
  const parsed = Array.isArray(doc) ? z.array(analysisSchema).safeParse(doc) : analysisSchema.safeParse(doc);
  if (!parsed.success) throw zodToInputError(file, parsed.error);
  const withSource = (a: Analysis, label: string) => {
    try {
      return analyzeOne(a);
    } catch (err) {
      if (err instanceof AnalyzerError) throw new AnalyzerError(`${file}: ${label}${err.message}`);
      throw err;
    }
  };
  const result = Array.isArray(parsed.data)
    ? parsed.data.map((a, i) => withSource(a, `[${i}]: `))
    : withSource(parsed.data, '');
  out(JSON.stringify(result, null, 2));
  return 0;
}

/**
 * Each role of the config's disaggregated variants at their fixed load: one replica of the role
 * on every accelerator it may use (its stable rate range and its latencies alone), and the plan
 * the sizing picks for the load (docs/SIZING.md section 7).
 */
function analyzeRoles(config: Config, file: string) {
  const variants = config.disaggregated ?? [];
  if (variants.length === 0) throw new InputError(`${file}: no variant with roles to analyze`);
  return variants.map((v) => {
    if (!v.load) throw new InputError(`${file}: variant ${v.name}: load: required to analyze its roles`);
    const load = {
      rate: v.load.arrivalRate,
      inputTokens: v.load.avgInputTokens,
      outputTokens: v.load.avgOutputTokens,
    };
    const input = disaggregatedInput(config, v, load);
    const sizing = sizeDisaggregated(input);
    const alone = (model: ReturnType<typeof prefillModel>) => analyzeAt(model, model.rateRange.min);
    return {
      variant: variantKey(v),
      load,
      prefill: input.prefill.options.map((o) => {
        const model = prefillModel(o.profile, load.inputTokens);
        return {
          accelerator: o.accelerator,
          rateRange: model.rateRange,
          maxBatchSize: model.config.maxBatchSize,
          prefillAloneMs: alone(model).ttft,
        };
      }),
      decode: input.decode.options.map((o) => {
        const model = decodeModel(o.profile, load.inputTokens, load.outputTokens);
        return {
          accelerator: o.accelerator,
          rateRange: model.rateRange,
          maxBatchSize: model.config.maxBatchSize,
          itlAloneMs: alone(model).itl,
        };
      }),
      plan: sizing.feasible ? sizing.plan : null,
      reason: sizing.feasible ? null : sizing.reason,
      notes: sizing.notes,
    };
  });
}
