// One CloudEvent -> the team sync it asks for. A cluster whose teams the Teams API could not answer
// for, or whose statements failed, fails the invocation (HTTP 503) so the Broker redelivers it; a
// cluster whose master cannot be reached yet is only "waiting" (the next ping retries it).
import { RetryableError, watches, type EventHandler } from '@pgfn/fn-runtime';
import { targetOf } from './events.js';
import { syncTeams, type TeamSyncDeps } from './team-sync.js';

export type HandlerDeps = TeamSyncDeps;

export function createHandler(deps: HandlerDeps): EventHandler {
  return async (event, { log }) => {
    const target = targetOf(event);
    if (target.scope === 'ignore') {
      log.debug({ reason: target.reason }, 'ignored');
      return 'ignored';
    }
    if (target.scope === 'cluster' && !watches(deps.watchedNamespace, target.namespace)) {
      log.debug({ namespace: target.namespace }, 'ignored: outside the watched namespace');
      return 'ignored';
    }
    const summary = await syncTeams(deps, target, log);
    if (summary.disabled) return 'ignored';
    const bad = summary.clusters.filter((c) => c.state === 'failed' || c.state === 'teams-unavailable');
    log.info(
      {
        reason: target.reason,
        clusters: summary.clusters.length,
        failed: bad.length,
        teamsFetched: summary.teamsFetched,
        teamsFailed: summary.teamsFailed,
      },
      'team sync done',
    );
    if (bad.length > 0) {
      const detail = bad
        .slice(0, 5)
        .map((c) => `${c.namespace}/${c.name}: ${c.message}`)
        .join('; ');
      throw new RetryableError(`team sync: ${bad.length} of ${summary.clusters.length} cluster(s) not synced: ${detail}`);
    }
    return 'ok';
  };
}
