/**
 * A disaggregated variant's decision at apply: both roles judged against the config, and the
 * order their Deployments change in (decode first when growing, prefill first when shrinking).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseConfig } from '../../lib/config/index.js';
import { admitDecision } from '../../lib/loop/admission.js';
import { roleScalingOrder } from '../../lib/loop/roleAdmission.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';

const config = parseConfig(
  parse(readFileSync('config/disaggregated.yaml', 'utf8')),
  'config/disaggregated.yaml',
);
const ctx = { config, pool: 'default', now: Date.parse('2026-01-01T00:00:00Z') / 1000 };

function decision(prefill: [number, number], decode: [number, number]): DecisionRecord {
  return {
    version: 3,
    id: 'llm/code-70b-pd#1',
    pool: 'default',
    poolSequence: 1,
    variant: 'code-70b-pd',
    namespace: 'llm',
    model: 'llama-3-70b',
    sequence: 1,
    issuedAt: '2026-01-01T00:00:00.000Z',
    accelerator: '',
    targetReplicas: prefill[1] + decode[1],
    currentReplicas: prefill[0] + decode[0],
    action: 'scale-up',
    reason: 'load',
    message: '',
    deployments: [
      {
        accelerator: '4xH100',
        deployment: 'code-70b-pd-prefill-4xh100',
        replicas: prefill[1],
        role: 'prefill',
      },
      { accelerator: '4xA100', deployment: 'code-70b-pd-decode-4xa100', replicas: decode[1], role: 'decode' },
    ],
    roles: {
      prefill: { accelerator: '4xH100', targetReplicas: prefill[1], currentReplicas: prefill[0] },
      decode: { accelerator: '4xA100', targetReplicas: decode[1], currentReplicas: decode[0] },
    },
    prediction: null,
    inputs: {
      arrivalRate: null,
      completionRate: null,
      demandRate: null,
      avgInputTokens: null,
      avgOutputTokens: null,
      waiting: null,
      running: null,
      readyReplicas: null,
      modelCorrection: null,
      metricTimestamps: {},
      stale: [],
      missing: [],
    },
  };
}

const order = (d: DecisionRecord) => roleScalingOrder(d).map((t) => t.role);

describe('a disaggregated decision at apply', () => {
  it('admits both roles within their bounds', () => {
    expect(admitDecision(decision([2, 3], [1, 2]), ctx)).toBeUndefined();
  });

  it('scales decode first when growing, prefill first when shrinking', () => {
    expect(order(decision([2, 3], [1, 2]))).toEqual(['decode', 'prefill']);
    expect(order(decision([3, 2], [2, 1]))).toEqual(['prefill', 'decode']);
    // decode grows while prefill shrinks: growth first
    expect(order(decision([3, 2], [1, 2]))).toEqual(['decode', 'prefill']);
    // prefill grows while decode shrinks: prefill's growth, then decode's removal
    expect(order(decision([2, 3], [2, 1]))).toEqual(['prefill', 'decode']);
  });

  it.each([
    [
      'a role above its maxReplicas',
      (d: DecisionRecord) => {
        d.roles!.decode.targetReplicas = 9;
        d.deployments[1]!.replicas = 9;
        d.targetReplicas = 3 + 9;
      },
      'decision.roles.decode.targetReplicas',
    ],
    [
      'a Deployment of the other role',
      (d: DecisionRecord) => {
        d.deployments[1]!.deployment = 'code-70b-pd-prefill-4xa100';
      },
      'decision.deployments[1].deployment',
    ],
    [
      'a Deployment without its role',
      (d: DecisionRecord) => {
        delete d.deployments[0]!.role;
      },
      'decision.deployments[0].role',
    ],
    [
      'sums that disagree',
      (d: DecisionRecord) => {
        d.targetReplicas = 99;
      },
      'decision.targetReplicas',
    ],
    [
      'a target the Deployment does not carry',
      (d: DecisionRecord) => {
        d.deployments[0]!.replicas = 4;
      },
      'decision.deployments[0].replicas',
    ],
    [
      'no roles for a disaggregated variant',
      (d: DecisionRecord) => {
        delete d.roles;
      },
      'decision.roles',
    ],
    [
      'a prefill:decode ratio above the bound',
      (d: DecisionRecord) => {
        d.roles!.prefill.targetReplicas = 12;
        d.deployments[0]!.replicas = 12;
        d.roles!.decode.targetReplicas = 1;
        d.deployments[1]!.replicas = 1;
        d.targetReplicas = 13;
      },
      'decision.roles',
    ],
  ])('rejects %s, naming the field', (_what, mutate, field) => {
    const d = decision([2, 3], [1, 2]);
    mutate(d);
    expect(admitDecision(d, ctx)?.field).toBe(field);
  });
});
