// The effects of spec.streams: reads what exists (databases and `fes_%` publications on the master,
// Patroni's DCS slots, the cluster's FES objects), asks planStreams, and acts — publications by SQL
// on the master, slots through Patroni's PATCH /config (Patroni keeps them across failovers), FES
// objects by server-side apply. Publications and slots go first: an FES names a slot that must exist.
import type { KubernetesObject, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { STREAM_USER_NAME, clusterLabels, credentialSecretName, objectLabels, ownerReferences, readSecretData } from '@pgfn/builder';
import { directReach, findMaster, masterFailure, type Reach } from '@pgfn/fn-runtime';
import { equalitySelector, type KubeClient } from '@pgfn/kube';
import { PatroniClient, patroniUrl } from '@pgfn/patroni';
import { openClient, type ConnectionConfig, type SslMode } from '@pgfn/roles';
import {
  FES_API_VERSION,
  FES_CRD_NAME,
  FES_KIND,
  planStreams,
  STREAMS_MARK,
  type FabricEventStream,
  type LivePublication,
  type PublicationAction,
  type StreamsPlan,
} from './streams-plan.js';

/** What one streams sync did, for the StreamsSynced condition and Events. */
export interface StreamsOutcome {
  readonly state: 'synced' | 'waiting' | 'failed';
  readonly message: string;
  /** Changes made (publication statements, slot entries, FES writes). */
  readonly changes: number;
}

export interface StreamsSyncDeps {
  readonly kube: KubeClient;
  readonly sslmode?: SslMode;
  readonly reach?: Reach;
  /** Patroni's REST API of a pod: `http://<pod IP>:8008` in a cluster (@pgfn/patroni's patroniUrl). */
  readonly patroniUrl?: (podIp: string) => string;
  readonly patroni?: PatroniClient;
}

export interface StreamsSyncTarget {
  readonly cluster: Postgresql & KubernetesObject;
  readonly config: OperatorConfig;
  readonly pods: readonly V1Pod[];
}

/**
 * Whether this cluster's streams need looking at: it has streams, or an earlier sync reported on
 * them (removed streams leave FES objects, slots and publications to clean up).
 */
export function streamsInScope(cluster: Postgresql & KubernetesObject): boolean {
  return (cluster.spec.streams?.length ?? 0) > 0 || (cluster.status?.conditions ?? []).some((c) => c.type === 'StreamsSynced');
}

export async function syncStreams(deps: StreamsSyncDeps, { cluster, config, pods }: StreamsSyncTarget): Promise<StreamsOutcome> {
  const namespace = cluster.metadata?.namespace ?? '';
  const crd = await deps.kube.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: FES_CRD_NAME });
  if (crd === undefined) {
    return { state: 'synced', message: `the ${FES_CRD_NAME} CRD is not installed: streams are not synced (as upstream)`, changes: 0 };
  }
  const found = await findMaster({ kube: deps.kube, cluster, config, pods });
  if (found.master === undefined) return { state: 'waiting', message: found.reason, changes: 0 };
  const superuser = readSecretData(
    await deps.kube.get<V1Secret>({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace,
      name: credentialSecretName(cluster, config, config.superUsername),
    }),
  );
  if (superuser === undefined) return { state: 'waiting', message: `the Secret of ${config.superUsername} is not ready`, changes: 0 };
  const target = (deps.reach ?? directReach)(found.master);
  const connection: ConnectionConfig = {
    host: target.host,
    port: target.port,
    user: superuser.username,
    password: superuser.password,
    sslmode: deps.sslmode ?? 'require',
    applicationName: 'pgfn-streams',
  };
  const labels = objectLabels(cluster, config);
  const patroni = (deps.patroniUrl ?? ((ip: string) => patroniUrl(ip)))(found.master.host);
  const client = deps.patroni ?? new PatroniClient({ timeoutMs: 10_000 });
  try {
    const [pg, patroniSlots, fes] = await Promise.all([
      readPublications(connection),
      client.config(patroni).then((c) => (c['slots'] ?? {}) as Record<string, unknown>),
      deps.kube.list<FabricEventStream>(FES_API_VERSION, FES_KIND, namespace, equalitySelector(clusterLabels(cluster, config))),
    ]);
    const plan = planStreams(
      {
        namespace,
        cluster: cluster.metadata?.name ?? '',
        streams: cluster.spec.streams ?? [],
        labels,
        ownerReferences: ownerReferences(cluster, config),
        userSecretName: credentialSecretName(cluster, config, STREAM_USER_NAME),
      },
      { ...pg, patroniSlots, fes },
    );
    const changes = await act(deps, { connection, patroni: (patch) => client.patchConfig(patroni, patch), namespace, plan });
    const notes = [...plan.problems, ...describe(plan)];
    return { state: 'synced', message: notes.length === 0 ? 'streams are in sync' : notes.join('; '), changes };
  } catch (err) {
    const failure = masterFailure(err, found.master);
    return { ...failure, changes: 0 };
  }
}

interface Action {
  readonly connection: ConnectionConfig;
  readonly patroni: (patch: Record<string, unknown>) => Promise<unknown>;
  readonly namespace: string;
  readonly plan: StreamsPlan;
}

async function act(deps: StreamsSyncDeps, { connection, patroni, namespace, plan }: Action): Promise<number> {
  for (const [database, actions] of groupBy(plan.publications, (a) => a.database)) {
    const client = await openClient(connection, database);
    try {
      for (const a of actions) for (const sql of publicationSql(a)) await client.query(sql);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const slotEntries = Object.keys(plan.slotPatch).length;
  if (slotEntries > 0) await patroni({ slots: plan.slotPatch });
  // kube-kinds: zalando.org/v1/FabricEventStream
  for (const obj of plan.apply) await deps.kube.apply(obj);
  for (const name of plan.deleteFes) await deps.kube.delete({ apiVersion: FES_API_VERSION, kind: FES_KIND, namespace, name });
  return plan.publications.length + slotEntries + plan.apply.length + plan.deleteFes.length;
}

/** Upstream's statements (database.go), identifiers quoted; a created publication gets pgfn's mark. */
export function publicationSql(a: PublicationAction): string[] {
  const name = ident(a.name);
  const tables = a.kind === 'drop' ? '' : a.tables.map((t) => t.split('.').map(ident).join('.')).join(', ');
  switch (a.kind) {
    case 'create':
      return [
        `CREATE PUBLICATION ${name} FOR TABLE ${tables} WITH (publish = 'insert, update')`,
        `COMMENT ON PUBLICATION ${name} IS ${literal(STREAMS_MARK)}`,
      ];
    case 'alter':
      return [`ALTER PUBLICATION ${name} SET TABLE ${tables}`];
    case 'drop':
      return [`DROP PUBLICATION IF EXISTS ${name}`];
  }
}

async function readPublications(connection: ConnectionConfig): Promise<{ databases: string[]; publications: LivePublication[] }> {
  const main = await openClient(connection, 'postgres');
  let databases: string[];
  try {
    const rows = await main.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate');
    databases = rows.rows.map((r) => r.datname).sort();
  } finally {
    await main.end().catch(() => undefined);
  }
  const publications: LivePublication[] = [];
  for (const database of databases) {
    const client = await openClient(connection, database);
    try {
      const rows = await client.query<{ pubname: string; tables: string[]; comment: string | null }>(
        `SELECT p.pubname,
                COALESCE(array_agg(pt.schemaname || '.' || pt.tablename ORDER BY pt.schemaname, pt.tablename)
                  FILTER (WHERE pt.tablename IS NOT NULL), '{}') AS tables,
                obj_description(p.oid, 'pg_publication') AS comment
           FROM pg_publication p LEFT JOIN pg_publication_tables pt ON pt.pubname = p.pubname
          WHERE p.pubname LIKE 'fes\\_%'
          GROUP BY p.pubname, p.oid`,
      );
      for (const r of rows.rows) publications.push({ database, name: r.pubname, tables: r.tables, ours: r.comment === STREAMS_MARK });
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return { databases, publications };
}

function describe(plan: StreamsPlan): string[] {
  const out: string[] = plan.publications.map((a) => `${a.kind} publication ${a.database}/${a.name}`);
  for (const [name, value] of Object.entries(plan.slotPatch)) out.push(`${value === null ? 'drop' : 'add'} slot ${name}`);
  for (const f of plan.apply) out.push(`apply FabricEventStream ${f.metadata?.name ?? ''}`);
  for (const name of plan.deleteFes) out.push(`delete FabricEventStream ${name}`);
  return out;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
