import type { KubernetesObject, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { isStandbyCluster, readSecretData } from '@pgfn/builder';
import { directReach, findMaster, masterFailure, type Logger, type Reach } from '@pgfn/fn-runtime';
import type { KubeClient } from '@pgfn/kube';
import {
  buildDesiredState,
  buildRoleModel,
  credentialSecretRefs,
  infrastructureRoleDefinitions,
  readInfrastructureRoles,
  planCredentials,
  syncRolesAndDatabases,
  type ConnectionConfig,
  type SecretContent,
  type SslMode,
} from '@pgfn/roles';

/** What one role/database sync did, for the RolesSynced condition and Events. */
export interface RoleSyncOutcome {
  readonly state: 'synced' | 'waiting' | 'failed';
  readonly message: string;
  readonly statements: number;
}

export interface RoleSyncDeps {
  readonly kube: KubeClient;
  readonly now: () => Date;
  readonly newPassword: () => string;
  /** How to reach Postgres; `require` in a cluster, as upstream. */
  readonly sslmode?: SslMode;
  /** Where to connect for a master address (out of cluster: pod IP -> where Postgres really listens). */
  readonly reach?: Reach;
}

export interface RoleSyncTarget {
  readonly cluster: Postgresql & KubernetesObject;
  readonly config: OperatorConfig;
  /** The cluster's Spilo pods as the reconcile listed them. */
  readonly pods: readonly V1Pod[];
  readonly log: Logger;
}

/**
 * Brings roles, databases, prepared databases and the pooler lookup in line with the manifest, on the
 * current master only (found through Patroni's leader Endpoints or the pod it labelled master).
 * Secrets are the builder's: they were applied before this runs, and their passwords are
 * authoritative here. Postgres being unreachable is "waiting" (the kit's masterFailure), retried by
 * the next event or resync, so a booting cluster does not fail its reconcile.
 */
export async function syncRoles(deps: RoleSyncDeps, { cluster, config, pods, log }: RoleSyncTarget): Promise<RoleSyncOutcome> {
  const found = await findMaster({ kube: deps.kube, cluster, config, pods });
  if (found.master === undefined) return { state: 'waiting', message: found.reason, statements: 0 };

  const infrastructure =
    infrastructureRoleDefinitions(config).length === 0 ? { roles: [], problems: [] } : await readInfrastructureRoles(deps.kube, config);
  const model = buildRoleModel({ cluster, config, infrastructureRoles: infrastructure.roles });
  const secrets = new Map<string, SecretContent>();
  for (const ref of credentialSecretRefs(model, config)) {
    const secret = await deps.kube.get<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace: ref.namespace, name: ref.name });
    const content = readSecretData(secret);
    if (content !== undefined) secrets.set(ref.role, content);
  }
  const { credentials } = planCredentials({
    model,
    spec: cluster.spec,
    config,
    secrets,
    now: deps.now(),
    newPassword: deps.newPassword,
    standby: isStandbyCluster(cluster),
  });
  // Roles whose Secret is not (yet) what the role model expects are left alone this round.
  const degraded = new Set([...credentials.values()].filter((c) => c.write !== 'none' || c.error !== undefined).map((c) => c.role));
  const superuser = credentials.get(config.superUsername);
  if (superuser === undefined || degraded.has(config.superUsername)) {
    return { state: 'waiting', message: `the Secret of the superuser ${config.superUsername} is not ready`, statements: 0 };
  }
  const { state, problems } = buildDesiredState({ model, cluster, config, credentials, now: deps.now(), degraded });
  const target = (deps.reach ?? directReach)(found.master);
  const connection: ConnectionConfig = {
    host: target.host,
    port: target.port,
    user: superuser.login.username,
    password: superuser.login.password,
    sslmode: deps.sslmode ?? 'require',
  };
  try {
    const report = await syncRolesAndDatabases(connection, state, {
      onProgress: (p) => log.debug({ progress: p }, 'role sync statement'),
    });
    const failed = report.execution?.failed ?? 0;
    const executed = report.execution?.executed ?? 0;
    const notes = [...infrastructure.problems, ...problems.map((p) => `${p.path}: ${p.message}`)].slice(0, 5);
    const infra = infrastructure.roles.filter((r) => model.roles.get(r.name)?.origin === 'infrastructure').map((r) => r.name);
    if (infra.length > 0) notes.unshift(`infrastructure roles: ${infra.join(', ')}`);
    if (failed > 0) {
      const first = report.execution?.errors[0];
      return {
        state: 'failed',
        message: `${failed} statement(s) failed${first === undefined ? '' : `, first: ${first.message}`}`,
        statements: executed,
      };
    }
    return { state: 'synced', message: [`${executed} statement(s) on ${found.master.host}`, ...notes].join('; '), statements: executed };
  } catch (err) {
    const failure = masterFailure(err, found.master);
    log.warn({ err: (err as Error).message, master: found.master.host, state: failure.state }, 'role sync on the master failed');
    return { ...failure, statements: 0 };
  }
}
