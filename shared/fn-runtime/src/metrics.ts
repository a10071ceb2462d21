import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The Prometheus metrics every function exposes on /metrics. One registry per app (tests make many). */
export interface FunctionMetrics {
  readonly registry: Registry;
  /** CloudEvents received, by type and outcome (ok, ignored, terminal, retry, malformed). */
  readonly events: Counter<'type' | 'outcome'>;
  /** Handler duration in seconds, by event type. */
  readonly duration: Histogram<'type'>;
  /** Kubernetes API requests made by the handler, by verb and resource kind. */
  readonly apiRequests: Counter<'verb' | 'kind'>;
  /** Process starts that served events (1 per process; summed over the fleet: scale-from-zero starts). */
  readonly coldStarts: Counter;
  /** Seconds from process start to listening, of this process. */
  readonly coldStartSeconds: Gauge;
  /**
   * Registers the process metrics (CPU, memory, event loop, GC) if asked for and not yet done: after a
   * cold start's first answer or at the first scrape, whichever comes first, so that their set-up is
   * not on the way to that answer (ADR 0143). They read process-wide figures when scraped.
   */
  readonly startProcessMetrics: () => void;
}

export function createMetrics(fn: string, withProcessMetrics = true): FunctionMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ fn });
  let processMetrics = withProcessMetrics;
  return {
    registry,
    startProcessMetrics: () => {
      if (!processMetrics) return;
      processMetrics = false;
      collectDefaultMetrics({ register: registry, prefix: 'pgfn_' });
    },
    events: new Counter({
      name: 'pgfn_events_total',
      help: 'CloudEvents received, by type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'pgfn_handler_duration_seconds',
      help: 'Time to handle one CloudEvent',
      labelNames: ['type'],
      registers: [registry],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    apiRequests: new Counter({
      name: 'pgfn_kube_api_requests_total',
      help: 'Kubernetes API requests, by verb and kind',
      labelNames: ['verb', 'kind'],
      registers: [registry],
    }),
    coldStarts: new Counter({ name: 'pgfn_cold_starts_total', help: 'Process starts of the function', registers: [registry] }),
    coldStartSeconds: new Gauge({
      name: 'pgfn_cold_start_seconds',
      help: 'Seconds from process start until the function listened',
      registers: [registry],
    }),
  };
}
