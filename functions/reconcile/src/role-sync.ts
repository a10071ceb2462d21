import type { KubernetesObject, V1Endpoints, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import type { Logger } from '@pgfn/fn-runtime';
import { isStandbyCluster, readSecretData } from '@pgfn/builder';
import type { KubeClient } from '@pgfn/kube';
import {
  buildDesiredState,
  buildRoleModel,
  credentialSecretRefs,
  pickMaster,
  planCredentials,
  syncRolesAndDatabases,
  type ConnectionConfig,
  type MasterAddress,
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
  /**
   * Where to connect for a master address: the identity in a cluster; out of cluster (local stack,
   * tests) a translation from pod IPs to where the process really listens.
   */
  readonly reach?: (master: MasterAddress) => { host: string; port: number };
}

/**
 * Brings roles, databases, prepared databases and the pooler lookup in line with the manifest, on the
 * current master only (found through Patroni's leader Endpoints or the pod it labelled master).
 * Secrets are the builder's: they were applied before this runs, and their passwords are
 * authoritative here. Never throws for Postgres being unreachable: that is "waiting", retried by the
 * next event or resync, so a booting cluster does not fail its reconcile.
 */
export async function syncRoles(
  deps: RoleSyncDeps,
  cluster: Postgresql & KubernetesObject,
  config: OperatorConfig,
  pods: readonly V1Pod[],
  log: Logger,
): Promise<RoleSyncOutcome> {
  const namespace = cluster.metadata?.namespace ?? '';
  const name = cluster.metadata?.name ?? '';
  const endpoints = await deps.kube.get<V1Endpoints>({ apiVersion: 'v1', kind: 'Endpoints', namespace, name });
  const found = pickMaster({ endpoints, pods, roleLabel: config.podRoleLabel || 'spilo-role' });
  if (found.master === undefined) return { state: 'waiting', message: found.reason, statements: 0 };

  const model = buildRoleModel({ cluster, config });
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
  const target = (deps.reach ?? ((m) => ({ host: m.host, port: m.port })))(found.master);
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
    const notes = [...problems.map((p) => `${p.path}: ${p.message}`)].slice(0, 5);
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
    log.warn({ err: (err as Error).message, master: found.master.host }, 'role sync could not reach the master');
    return {
      state: 'waiting',
      message: `cannot reach the master ${found.master.host}:${found.master.port}: ${(err as Error).message}`,
      statements: 0,
    };
  }
}
