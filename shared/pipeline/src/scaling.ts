// How a Knative Service asks to be scaled and served (knative.dev/serving v0.49 autoscaling annotations,
// containerConcurrency, timeoutSeconds), as the local function supervisor honours it. Pure.
import type { KnativeServiceManifest } from './manifests.js';

export interface Scaling {
  /** Instances kept running even without traffic (autoscaling.knative.dev/min-scale; default 0). */
  readonly minScale: number;
  /** Most instances at once; 0 = no bound (autoscaling.knative.dev/max-scale; default 0). */
  readonly maxScale: number;
  /** Requests one instance serves at once; 0 = no limit (spec.template.spec.containerConcurrency). */
  readonly containerConcurrency: number;
  /**
   * How long an instance without requests stays: Knative scales down after its stable window
   * (autoscaling.knative.dev/window, 60 s) and keeps the last pod for scale-to-zero-pod-retention-period,
   * and scale-down-delay holds every scale-down; the longest applies.
   */
  readonly idleMs: number;
  /** Longest a request may take before the queue-proxy answers 504 (timeoutSeconds; default 300 s). */
  readonly timeoutMs: number;
}

const ANNOTATION = 'autoscaling.knative.dev/';
/** Knative Serving's defaults (config-autoscaler stable-window, config-defaults revision-timeout-seconds). */
const STABLE_WINDOW_MS = 60_000;
const TIMEOUT_SECONDS = 300;

/** The scaling a Service's revision template asks for; throws naming the annotation when a value is malformed. */
export function scalingOf(svc: KnativeServiceManifest): Scaling {
  const annotations = svc.spec.template.metadata?.annotations ?? {};
  const get = (key: string): string | undefined => annotations[`${ANNOTATION}${key}`];
  const integer = (key: string): number => {
    const v = get(key);
    if (v === undefined) return 0;
    if (!/^\d+$/.test(v)) throw new Error(`Service ${svc.metadata.name}: ${ANNOTATION}${key} must be a whole number, not "${v}"`);
    return Number(v);
  };
  const duration = (key: string, fallback: number): number => {
    const v = get(key);
    return v === undefined ? fallback : parseGoDuration(v, `Service ${svc.metadata.name}: ${ANNOTATION}${key}`);
  };
  const minScale = integer('min-scale');
  const maxScale = integer('max-scale');
  if (maxScale > 0 && minScale > maxScale)
    throw new Error(`Service ${svc.metadata.name}: min-scale ${minScale} exceeds max-scale ${maxScale}`);
  const spec = svc.spec.template.spec;
  return {
    minScale,
    maxScale,
    containerConcurrency: spec.containerConcurrency ?? 0,
    idleMs: Math.max(
      duration('window', STABLE_WINDOW_MS),
      duration('scale-to-zero-pod-retention-period', 0),
      duration('scale-down-delay', 0),
    ),
    timeoutMs: (spec.timeoutSeconds ?? TIMEOUT_SECONDS) * 1000,
  };
}

const GO_UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("1m", "90s", "1h30m", "0.5s") in milliseconds, as Knative's annotations are written. */
export function parseGoDuration(text: string, what = 'duration'): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (text === '0') return 0;
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`${what}: "${text}" is not a duration such as 30s, 1m or 1h30m`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (GO_UNIT_MS[p[2] ?? ''] ?? 0), 0);
}
