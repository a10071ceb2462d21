// One cluster: which roles are someone else's, where the master is, how to log in, then the human
// roles. Postgres being unreachable is "waiting" (the kit's masterFailure), retried by the next ping.
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { secretName } from '@pgfn/builder';
import { directReach, findMaster, masterFailure, type Logger, type Reach } from '@pgfn/fn-runtime';
import type { KubeClient } from '@pgfn/kube';
import { buildRoleModel, type DesiredRole, type RetryOptions, type RoleOrigin, type SslMode } from '@pgfn/roles';
import { applyTeamRoles } from './role-apply.js';

export interface ClusterSyncDeps {
  readonly kube: KubeClient;
  /** How to reach Postgres; `require` in a cluster, as upstream connects. */
  readonly sslmode?: SslMode;
  /** Where to connect for a master address (out of cluster: pod IP -> where Postgres really listens). */
  readonly reach?: Reach;
  /** Retries of single statements. */
  readonly retry?: RetryOptions;
}

export type ClusterOutcome =
  | {
      readonly state: 'synced' | 'failed';
      readonly message: string;
      readonly statements: number;
      readonly failed: number;
      readonly created: readonly string[];
      readonly restored: readonly string[];
      readonly deprecated: readonly string[];
      readonly warnings: readonly string[];
    }
  | { readonly state: 'waiting'; readonly message: string };

type Cluster = Postgresql & KubernetesObject;

const OWNER_BY_ORIGIN: Readonly<Record<RoleOrigin, string>> = {
  manifest: 'a user of the cluster manifest',
  infrastructure: 'an infrastructure role',
  'teams-api': 'a team role',
  system: 'a system user',
  bootstrap: 'a prepared-database role',
  'connection-pooler': 'the connection pooler user',
  stream: 'the event stream user',
};

/** Roles of this cluster that reconcile owns (manifest, prepared databases, system users): name -> whose. */
export function reservedRoles(cluster: Cluster, config: OperatorConfig): Map<string, string> {
  const model = buildRoleModel({ cluster, config });
  return new Map([...model.roles.values()].map((r) => [r.name, OWNER_BY_ORIGIN[r.origin]]));
}

export interface ClusterRoles {
  readonly cluster: Cluster;
  readonly config: OperatorConfig;
  /** The human roles this cluster should have. */
  readonly roles: readonly DesiredRole[];
  /** Roles someone else owns (reservedRoles): name -> whose. */
  readonly reserved: ReadonlyMap<string, string>;
  readonly log: Logger;
}

export async function syncClusterRoles(
  deps: ClusterSyncDeps,
  { cluster, config, roles, reserved, log }: ClusterRoles,
): Promise<ClusterOutcome> {
  const namespace = cluster.metadata?.namespace ?? '';
  const name = cluster.metadata?.name ?? '';
  const found = await findMaster({ kube: deps.kube, cluster, config });
  if (found.master === undefined) return { state: 'waiting', message: found.reason };

  const secret = await deps.kube.get<V1Secret>({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace,
    name: secretName(config.superUsername, name, config),
  });
  const username = decode(secret?.data?.['username']);
  const password = decode(secret?.data?.['password']);
  if (username === undefined || password === undefined) {
    return { state: 'waiting', message: `the Secret of the superuser ${config.superUsername} is not ready` };
  }
  const target = (deps.reach ?? directReach)(found.master);
  const untouchable = new Set([...reserved.keys(), ...config.protectedRoleNames, config.superUsername, config.replicationUsername]);
  try {
    const report = await applyTeamRoles(
      { host: target.host, port: target.port, user: username, password, sslmode: deps.sslmode ?? 'require' },
      {
        desired: roles,
        pamRole: config.pamRoleName,
        untouchable,
        deprecation: { enabled: config.enableTeamMemberDeprecation, suffix: config.roleDeletionSuffix },
      },
      {
        ...deps.retry,
        onProgress: (p) => {
          if (p.outcome !== 'done')
            log.debug({ statement: p.statement.display, outcome: p.outcome, error: p.error }, 'team role statement');
        },
      },
    );
    const { plan, execution } = report;
    log.info(
      {
        statements: plan.statements.length,
        failed: execution.failed,
        created: plan.created.length,
        restored: plan.restored.length,
        deprecated: plan.deprecated.length,
        readMs: Math.round(report.readMs),
        executeMs: Math.round(execution.durationMs),
      },
      'team roles applied',
    );
    const common = {
      statements: execution.executed,
      failed: execution.failed,
      created: plan.created,
      restored: plan.restored,
      deprecated: plan.deprecated,
      warnings: plan.warnings,
    };
    if (execution.failed > 0) {
      const first = execution.errors[0];
      return {
        state: 'failed',
        message: `${execution.failed} of ${plan.statements.length} statement(s) failed${
          first === undefined ? '' : `, first: ${first.statement.display}: ${first.message}`
        }`,
        ...common,
      };
    }
    return { state: 'synced', message: `${execution.executed} statement(s) on ${found.master.host}`, ...common };
  } catch (err) {
    // Reading the catalogs failed: unreachable (a failover, a booting pod) is waiting; anything else
    // (no permission, a bug) is a failure to retry and look at.
    const failure = masterFailure(err, found.master);
    if (failure.state === 'failed') throw new Error(`syncing team roles ${failure.message}`, { cause: err });
    log.warn({ err: (err as Error).message, master: found.master.host }, 'team role sync could not reach the master');
    return { state: 'waiting', message: failure.message };
  }
}

function decode(value: string | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}
