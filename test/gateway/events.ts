/** Gateway events for tests: one request's life, written as the gateway would send it. */
import type { GatewayEvent } from '../../lib/gateway/events.js';
import { loadConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';

export const T = 1_800_000_000;
export const CHAT_MODEL = 'llama-3.1-8b';
export const CHAT = 'llm/chat-8b';

/** config/default.yaml, with chat-8b allowed to scale to zero. */
export function gatewayConfig(): Config {
  const config = loadConfig('config/default.yaml');
  return {
    ...config,
    variants: config.variants.map((v) => (v.name === 'chat-8b' ? { ...v, minReplicas: 0 } : v)),
  };
}

export function request(
  id: string,
  o: {
    at: number;
    engine: string;
    prompt: number;
    output: number;
    model?: string;
    ttft?: number;
    duration?: number;
  },
): GatewayEvent[] {
  const model = o.model ?? CHAT_MODEL;
  const base = { id, model, promptTokens: o.prompt, engine: o.engine };
  return [
    { type: 'dispatch', ...base, at: o.at, wasQueued: false },
    { type: 'first-token', ...base, at: o.at + (o.ttft ?? 0.2) },
    {
      type: 'completion',
      ...base,
      at: o.at + (o.duration ?? 5),
      outputTokens: o.output,
      afterFirstToken: true,
    },
  ];
}
