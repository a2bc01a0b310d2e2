/**
 * The decision message read back: a body that does not parse is rejected, naming the field.
 * (What a decision carries is tested with the record stage, test/policy/stages/record*.)
 */
import { InvalidDecisionError, parseDecision } from '../../lib/policy/decisionRecord.js';
import { deployment, observation, poolConfig, ratePerReplica, Session, T0 } from './helpers.js';

const config = poolConfig();
const r = ratePerReplica(config);

describe('parseDecision', () => {
  const valid = () =>
    JSON.parse(
      JSON.stringify(new Session(config, [deployment('L4', 2)]).decide(T0, [observation(r, T0)])),
    ) as Record<string, unknown>;

  it.each([
    ['targetReplicas', -1, /^decision\.targetReplicas: /],
    ['sequence', 0, /^decision\.sequence: /],
    ['version', 1, /^decision\.version: /],
    ['issuedAt', 'yesterday', /^decision\.issuedAt: /],
    ['reason', 'vibes', /^decision\.reason: /],
    ['extra', true, /^decision: .*extra/],
  ])('names the bad field %s', (field, value, message) => {
    const body = { ...valid(), [field]: value };
    expect(() => parseDecision(body)).toThrow(InvalidDecisionError);
    expect(() => parseDecision(body)).toThrow(message);
  });

  it('names nested fields with their index', () => {
    const body = valid();
    (body.deployments as { replicas: unknown }[])[0]!.replicas = 1.5;
    expect(() => parseDecision(body)).toThrow(/^decision\.deployments\[0\]\.replicas/);
    const inputs = valid();
    (inputs.inputs as Record<string, unknown>).arrivalRate = 'NaN';
    expect(() => parseDecision(inputs)).toThrow(/^decision\.inputs\.arrivalRate/);
  });

  it('rejects a missing field and a body that is not JSON', () => {
    const body = valid();
    delete body.namespace;
    expect(() => parseDecision(body)).toThrow(/^decision\.namespace/);
    expect(() => parseDecision('{not json')).toThrow('decision is not JSON');
  });
});
