// Whether a Spilo pod has work for rolling-update. Reconcile sees every Spilo pod event and tells
// rolling-update only when some pod of the cluster has work (ADR 0120), so both must agree on what work is.
import { ROLLING_UPDATE_REQUIRED_ANNOTATION } from './labels.js';

/** Patroni's member record in the pod's `status` annotation says a restart is pending. */
const PENDING_RESTART = /"pending_restart"\s*:\s*true/;

/**
 * Marked for rotation (upstream's rolling-update annotation), or Patroni reports a pending restart.
 * Pod changes without either (Patroni's heartbeats, readiness, scheduling) give rolling-update nothing
 * to do unless another pod of the cluster has work.
 */
export function podAwaitsRollingUpdate(pod: { metadata?: { annotations?: Readonly<Record<string, string>> } }): boolean {
  const annotations = pod.metadata?.annotations ?? {};
  return annotations[ROLLING_UPDATE_REQUIRED_ANNOTATION] === 'true' || PENDING_RESTART.test(annotations['status'] ?? '');
}
