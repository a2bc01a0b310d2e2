/**
 * The gateway's request events from the simulated fleet (docs/GATEWAY.md): what an inference
 * gateway in front of it would send, built from the fleet's request observer. Events are
 * collected as the simulation runs and handed out, up to a time, at each flush.
 */
import type { Config } from '../config/schema.js';
import type { RequestObserver, SimRequestView } from '../fleetSimulator/index.js';
import type { GatewayEvent } from '../gateway/events.js';

export class GatewayTap implements RequestObserver {
  private pending: GatewayEvent[] = [];
  /** dispatched, first token not told yet */
  private readonly prefilling = new Set<SimRequestView>();
  private readonly wasQueued = new WeakSet<SimRequestView>();
  private readonly models: Map<string, { model: string; namespace: string }>;

  constructor(config: Config) {
    this.models = new Map(
      config.variants.map((v) => [v.name, { model: v.metrics.modelName ?? v.model, namespace: v.namespace }]),
    );
  }

  private base(r: SimRequestView) {
    const m = this.models.get(r.variant) ?? { model: r.variant, namespace: undefined };
    return {
      id: `${r.variant}-${r.id}`,
      model: m.model,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      promptTokens: r.inputTokens,
    };
  }

  queued(r: SimRequestView, readyReplicas: number): void {
    this.wasQueued.add(r);
    this.pending.push({ type: 'queued', ...this.base(r), at: r.arrival, endpoints: readyReplicas });
  }

  dispatched(r: SimRequestView): void {
    const at = r.dispatched ?? r.arrival;
    this.pending.push({
      type: 'dispatch',
      ...this.base(r),
      at,
      engine: r.replica ?? 'unknown',
      wasQueued: this.wasQueued.has(r),
    });
    this.prefilling.add(r);
  }

  completed(r: SimRequestView): void {
    this.firstToken(r);
    const engine = r.replica ?? 'unknown';
    this.pending.push({
      type: 'completion',
      ...this.base(r),
      at: r.finished ?? r.dispatched ?? r.arrival,
      engine,
      outputTokens: r.status === 'rejected' ? 0 : r.outputTokens,
      afterFirstToken: r.firstToken !== undefined,
    });
  }

  private firstToken(r: SimRequestView): void {
    if (!this.prefilling.delete(r) || r.firstToken === undefined) return;
    this.pending.push({
      type: 'first-token',
      ...this.base(r),
      at: r.firstToken,
      engine: r.replica ?? 'unknown',
    });
  }

  /** The events up to now: first tokens produced since the last flush, then everything in time order. */
  flush(now: number): GatewayEvent[] {
    for (const r of [...this.prefilling])
      if (r.firstToken !== undefined && r.firstToken <= now) this.firstToken(r);
    const out = this.pending.sort((a, b) => a.at - b.at);
    this.pending = [];
    return out;
  }
}
