// Which clusters an event asks about (pure). The hourly ping checks every cluster; the others name
// one cluster in their subject, `<namespace>/<cluster>`.
import type { CloudEventV1 } from 'cloudevents';
import { PING_TYPE } from '@pgfn/fn-runtime';

/** The events that ask for one cluster's verification (their subject names it). */
export const CLUSTER_EVENT_TYPES: readonly string[] = [
  'dev.pgfn.cluster.ready',
  'dev.pgfn.backup.completed',
  'dev.pgfn.backup.verify.requested',
];
const PING_SOURCE = /\/pingsources\/pgfn-backup-check$/;

export type Target =
  | { readonly scope: 'all' }
  | { readonly scope: 'cluster'; readonly namespace: string; readonly name: string }
  | { readonly scope: 'ignore'; readonly reason: string };

export function targetOf(event: CloudEventV1<unknown>): Target {
  if (event.type === PING_TYPE) {
    return PING_SOURCE.test(event.source) ? { scope: 'all' } : { scope: 'ignore', reason: `a ping from ${event.source}` };
  }
  if (!CLUSTER_EVENT_TYPES.includes(event.type)) return { scope: 'ignore', reason: `not an event backup-verify handles (${event.type})` };
  const match = /^([^/]+)\/([^/]+)$/.exec(event.subject ?? '');
  if (match === null) return { scope: 'ignore', reason: `${event.type} without a <namespace>/<cluster> subject` };
  return { scope: 'cluster', namespace: match[1] as string, name: match[2] as string };
}
