// spec.streams as upstream syncs them (pkg/cluster/streams.go): per (database, applicationId) a
// logical slot `fes_<db>_<appId>` (pgoutput) kept by Patroni through its DCS `slots`, a publication of
// the same name FOR TABLE the listed tables, and one FabricEventStream per applicationId. Unlike
// upstream, which treats every `fes_%` publication as its own, only what pgfn created is changed or
// dropped: its publications carry STREAMS_MARK as comment, its slots are named by one of those or by
// an FES object it owns (ADR 0035). Pure: what exists in, actions out.
import { createHash } from 'node:crypto';
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import type { Stream } from '@pgfn/api';
import { canonicalJson } from '@pgfn/builder';

export const FES_API_VERSION = 'zalando.org/v1';
export const FES_KIND = 'FabricEventStream';
export const FES_CRD_NAME = 'fabriceventstreams.zalando.org';
/** The comment on every publication pgfn created for a stream. */
export const STREAMS_MARK = 'pgfn: spec.streams';
const CPU_ANNOTATION = 'fes.zalando.org/FES_CPU';
const MEMORY_ANNOTATION = 'fes.zalando.org/FES_MEMORY';

/** Patroni's DCS entry of a permanent logical slot. */
export interface SlotConfig {
  readonly type: 'logical';
  readonly database: string;
  readonly plugin: 'pgoutput';
}

export interface LivePublication {
  readonly database: string;
  readonly name: string;
  /** `schema.table`, sorted. */
  readonly tables: readonly string[];
  /** Carries STREAMS_MARK: created by pgfn. */
  readonly ours: boolean;
}

export interface FabricEventStream extends KubernetesObject {
  spec: { applicationId: string; eventStreams: Record<string, unknown>[] };
}

export interface StreamsLive {
  /** Databases of the cluster (templates excluded). */
  readonly databases: readonly string[];
  /** `fes_%` publications of every database. */
  readonly publications: readonly LivePublication[];
  /** Patroni's DCS `slots` (any type). */
  readonly patroniSlots: Readonly<Record<string, unknown>>;
  /** FES objects carrying the cluster's labels. */
  readonly fes: readonly FabricEventStream[];
}

export interface StreamsTarget {
  readonly namespace: string;
  readonly cluster: string;
  readonly streams: readonly Stream[];
  /** Labels of the cluster's objects (FES objects are listed by them). */
  readonly labels: Record<string, string>;
  readonly ownerReferences?: V1OwnerReference[];
  /** Name of the Secret of upstream's `fes_user` (the FES connection's credentials). */
  readonly userSecretName: string;
}

export type PublicationAction =
  | { readonly kind: 'create'; readonly database: string; readonly name: string; readonly tables: readonly string[] }
  | { readonly kind: 'alter'; readonly database: string; readonly name: string; readonly tables: readonly string[] }
  | { readonly kind: 'drop'; readonly database: string; readonly name: string };

export interface StreamsPlan {
  readonly publications: readonly PublicationAction[];
  /** PATCH /config body's `slots`: an entry to add, null to drop; empty: nothing to patch. */
  readonly slotPatch: Readonly<Record<string, SlotConfig | null>>;
  /** FES objects to apply (server-side), complete. */
  readonly apply: readonly FabricEventStream[];
  /** Names of FES objects to delete. */
  readonly deleteFes: readonly string[];
  /** Streams skipped and why (a database that does not exist), as upstream warns. */
  readonly problems: readonly string[];
}

/** Upstream's getSlotName: `fes_<db>_<appId>` with `-` in the applicationId turned into `_`. */
export function slotName(database: string, applicationId: string): string {
  return `fes_${database}_${applicationId.replaceAll('-', '_')}`;
}

/** `schema.table` of a manifest table name (`public` when unqualified), as upstream's getTableSchema. */
export function qualifiedTable(name: string): { schema: string; table: string } {
  const [first, second] = name.split('.');
  return second === undefined ? { schema: 'public', table: first ?? name } : { schema: first ?? 'public', table: second };
}

/**
 * Upstream names an FES `<cluster>-<5 random letters>`; pgfn derives the suffix from the
 * applicationId so that a retried create cannot make a second object. An existing one keeps its name.
 */
export function fesName(cluster: string, applicationId: string): string {
  return `${cluster}-${createHash('sha256').update(applicationId).digest('hex').slice(0, 5)}`;
}

export function planStreams(target: StreamsTarget, live: StreamsLive): StreamsPlan {
  const problems: string[] = [];
  const known = new Set(live.databases);
  // slot name -> database and the union of its tables (several streams may share one).
  const desired = new Map<string, { database: string; tables: Set<string> }>();
  for (const stream of target.streams) {
    if (!known.has(stream.database)) {
      problems.push(`database "${stream.database}" of the stream ${stream.applicationId} does not exist in the cluster`);
      continue;
    }
    const name = slotName(stream.database, stream.applicationId);
    const entry = desired.get(name) ?? { database: stream.database, tables: new Set<string>() };
    for (const t of Object.keys(stream.tables)) {
      const q = qualifiedTable(t);
      entry.tables.add(`${q.schema}.${q.table}`);
    }
    desired.set(name, entry);
  }

  const publications: PublicationAction[] = [];
  const livePubs = new Map(live.publications.map((p) => [`${p.database}/${p.name}`, p]));
  for (const [name, want] of desired) {
    const tables = [...want.tables].sort();
    const have = livePubs.get(`${want.database}/${name}`);
    if (have === undefined) publications.push({ kind: 'create', database: want.database, name, tables });
    else if (have.tables.join(', ') !== tables.join(', ')) publications.push({ kind: 'alter', database: want.database, name, tables });
  }
  const ownedFesSlots = new Set(live.fes.flatMap((f) => fesSlotNames(f)));
  const ourPubs = new Set(live.publications.filter((p) => p.ours).map((p) => p.name));
  for (const p of live.publications) {
    if (p.ours && desired.get(p.name)?.database !== p.database) publications.push({ kind: 'drop', database: p.database, name: p.name });
  }

  const slotPatch: Record<string, SlotConfig | null> = {};
  for (const [name, want] of desired) {
    const have = live.patroniSlots[name] as Partial<SlotConfig> | undefined;
    if (have?.type !== 'logical' || have.database !== want.database || have.plugin !== 'pgoutput') {
      slotPatch[name] = { type: 'logical', database: want.database, plugin: 'pgoutput' };
    }
  }
  for (const name of Object.keys(live.patroniSlots)) {
    if (!desired.has(name) && name.startsWith('fes_') && (ourPubs.has(name) || ownedFesSlots.has(name))) slotPatch[name] = null;
  }

  const appIds = [...new Set(target.streams.map((s) => s.applicationId))];
  const apply: FabricEventStream[] = [];
  for (const appId of appIds) {
    const want = fabricEventStream(target, appId, live.fes.find((f) => f.spec?.applicationId === appId)?.metadata?.name);
    const have = live.fes.find((f) => f.spec?.applicationId === appId);
    if (have === undefined || !sameFes(have, want)) apply.push(want);
  }
  const deleteFes = live.fes.filter((f) => !appIds.includes(f.spec?.applicationId)).map((f) => f.metadata?.name ?? '');
  return { publications, slotPatch, apply, deleteFes, problems };
}

/** The FES object of one applicationId: one event stream per table of its streams (upstream generateFabricEventStream). */
export function fabricEventStream(target: StreamsTarget, applicationId: string, existingName?: string): FabricEventStream {
  const annotations: Record<string, string> = {};
  const eventStreams: Record<string, unknown>[] = [];
  for (const stream of target.streams.filter((s) => s.applicationId === applicationId)) {
    // Upstream keeps the larger of several streams' values; here the last stream that names one wins.
    if (stream.cpu !== undefined) annotations[CPU_ANNOTATION] = stream.cpu;
    if (stream.memory !== undefined) annotations[MEMORY_ANNOTATION] = stream.memory;
    for (const [tableName, table] of Object.entries(stream.tables).sort(([a], [b]) => a.localeCompare(b))) {
      const { schema, table: name } = qualifiedTable(tableName);
      const sink = sinkOf(table.eventType, stream.batchSize);
      const filter = stream.filter?.[tableName];
      eventStreams.push({
        flow: {
          type: 'PostgresWalToGenericNakadiEvent',
          ...(table.payloadColumn === undefined ? {} : { payloadColumn: table.payloadColumn }),
        },
        sink,
        source: {
          type: 'PostgresLogicalReplication',
          schema,
          table: { name, ...(table.idColumn === undefined ? {} : { idColumn: table.idColumn }) },
          ...(filter === undefined || filter === null ? {} : { filter }),
          jdbcConnection: {
            jdbcUrl: `jdbc:postgresql://${target.cluster}.${target.namespace}/${stream.database}?user=fes_user&ssl=true&sslmode=require`,
            slotName: slotName(stream.database, applicationId),
            pluginType: 'pgoutput',
            databaseAuthentication: {
              type: 'DatabaseAuthenticationSecret',
              name: target.userSecretName,
              userKey: 'username',
              passwordKey: 'password',
            },
          },
        },
        recovery: recoveryOf(stream, table),
      });
    }
  }
  return {
    apiVersion: FES_API_VERSION,
    kind: FES_KIND,
    metadata: {
      name: existingName ?? fesName(target.cluster, applicationId),
      namespace: target.namespace,
      labels: target.labels,
      ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
      ...(target.ownerReferences === undefined ? {} : { ownerReferences: target.ownerReferences }),
    },
    spec: { applicationId, eventStreams },
  };
}

function sinkOf(eventType: string, batchSize: number | undefined): Record<string, unknown> {
  return { type: 'Nakadi', ...(eventType === '' ? {} : { eventType }), ...(batchSize === undefined ? {} : { maxBatchSize: batchSize }) };
}

/** Upstream getEventStreamRecovery: None, Ignore, or DeadLetter to `<eventType>-dead-letter-queue` with enableRecovery. */
function recoveryOf(stream: Stream, table: Stream['tables'][string]): Record<string, unknown> {
  const recoveryType = table.recoveryEventType ?? '';
  if (stream.enableRecovery === false || (stream.enableRecovery === undefined && recoveryType === '')) return { type: 'None' };
  if (table.ignoreRecovery === true) return { type: 'Ignore' };
  const eventType = recoveryType === '' ? `${table.eventType}-dead-letter-queue` : recoveryType;
  return { type: 'DeadLetter', sink: sinkOf(eventType, stream.batchSize) };
}

function fesSlotNames(f: FabricEventStream): string[] {
  return (f.spec?.eventStreams ?? []).flatMap((e) => {
    const slot = (e.source as { jdbcConnection?: { slotName?: unknown } } | undefined)?.jdbcConnection?.slotName;
    return typeof slot === 'string' ? [slot] : [];
  });
}

/** Spec, labels, annotations and owners as desired (fields other writers added are theirs). */
function sameFes(have: FabricEventStream, want: FabricEventStream): boolean {
  const sub = (a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean =>
    Object.entries(b ?? {}).every(([k, v]) => a?.[k] === v);
  const owners = new Set((have.metadata?.ownerReferences ?? []).map((r) => r.uid));
  return (
    canonicalJson(have.spec?.eventStreams ?? []) === canonicalJson(want.spec.eventStreams) &&
    sub(have.metadata?.labels, want.metadata?.labels) &&
    sub(have.metadata?.annotations, want.metadata?.annotations) &&
    (want.metadata?.ownerReferences ?? []).every((r) => owners.has(r.uid))
  );
}
