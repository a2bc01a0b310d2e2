/** `sva analyze FILE`: one replica's queue model at given rates, and its sizing against targets. */
import { z } from 'zod';
import { analyzeAt, AnalyzerError, buildReplicaModel, sizeReplica, targetRates } from '../analyzer/index.js';
import { readDocument } from '../config/load.js';
import { zodToInputError } from '../config/errors.js';
import { QUEUE_TO_BATCH_RATIO } from '../optimizer/index.js';
import { UsageError } from './errors.js';

export const ANALYZE_USAGE = `usage: sva analyze FILE
  FILE  JSON or YAML: { "maxBatchSize": N, "maxQueueSize"?: Q (default 10N),
        "profile": {alpha, beta, gamma, delta}, "request": {avgInputTokens, avgOutputTokens},
        "targets": {ttft, itl, tps} (0 = none), "rates": [req/s, ...] }, or an array of such objects`;

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
