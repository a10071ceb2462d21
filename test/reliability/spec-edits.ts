// Random but valid edits of a postgresql spec, drawn from a seeded Rng: every edit keeps the manifest
// buildable, so the only correct end state is "what a fresh reconcile of the final spec builds".
import type { PostgresSpec, Postgresql } from '@pgfn/api';
import type { Rng } from './seeded.js';

type Edit = (spec: PostgresSpec, rng: Rng) => PostgresSpec;

const USERS = ['app_owner', 'reader', 'writer', 'batch', 'report'] as const;
const FLAGS = [[], ['createdb'], ['login'], ['createrole'], ['nologin']] as const;
const DATABASES = ['app', 'orders', 'stats'] as const;
const CPUS = ['10m', '50m', '100m', '250m'] as const;
const MEMORY = ['100Mi', '128Mi', '256Mi', '500Mi'] as const;
const WORK_MEM = ['4MB', '8MB', '16MB', '32MB'] as const;

const EDITS: readonly [string, Edit][] = [
  ['instances', (s, r) => ({ ...s, numberOfInstances: 1 + r.int(3) })],
  [
    'add user',
    (s, r) => {
      const user = r.pick(USERS);
      return { ...s, users: { ...s.users, [user]: [...r.pick(FLAGS)] } };
    },
  ],
  [
    'remove user',
    (s, r) => {
      // the database owner stays: an owner missing from users is a validation error, not chaos
      const owners = new Set(Object.values(s.databases ?? {}));
      const removable = Object.keys(s.users ?? {}).filter((u) => !owners.has(u));
      if (removable.length === 0) return s;
      const gone = r.pick(removable);
      return { ...s, users: Object.fromEntries(Object.entries(s.users ?? {}).filter(([u]) => u !== gone)) };
    },
  ],
  [
    'add database',
    (s, r) => {
      const owner = r.pick(Object.keys(s.users ?? {}).length > 0 ? Object.keys(s.users ?? {}) : ['app_owner']);
      return { ...s, users: { app_owner: [], ...s.users }, databases: { ...s.databases, [r.pick(DATABASES)]: owner } };
    },
  ],
  [
    'remove database',
    (s, r) => {
      const names = Object.keys(s.databases ?? {});
      if (names.length === 0) return s;
      const gone = r.pick(names);
      return { ...s, databases: Object.fromEntries(Object.entries(s.databases ?? {}).filter(([d]) => d !== gone)) };
    },
  ],
  [
    'resources',
    (s, r) => ({ ...s, resources: { requests: { cpu: r.pick(CPUS), memory: r.pick(MEMORY) }, limits: { cpu: '1', memory: '1Gi' } } }),
  ],
  ['parameters', (s, r) => ({ ...s, postgresql: { ...s.postgresql, parameters: { work_mem: r.pick(WORK_MEM) } } })],
  ['pooler', (s, r) => ({ ...s, enableConnectionPooler: r.chance(0.5) })],
  ['replica pooler', (s, r) => ({ ...s, enableReplicaConnectionPooler: r.chance(0.5) })],
  ['logical backup', (s, r) => ({ ...s, enableLogicalBackup: r.chance(0.5) })],
  ['replica load balancer', (s, r) => ({ ...s, enableReplicaLoadBalancer: r.chance(0.5) })],
  ['patroni ttl', (s, r) => ({ ...s, patroni: { ...s.patroni, ttl: 20 + r.int(20) } })],
  ['pod annotation', (s, r) => ({ ...s, podAnnotations: { 'chaos.pgfn.dev/round': String(r.int(5)) } })],
  ['image', (s, r) => ({ ...s, dockerImage: `ghcr.io/zalando/spilo-17:4.0-p${1 + r.int(3)}` })],
];

/** One random edit of the spec, with its name (for the failure report). */
export function randomEdit(spec: PostgresSpec, rng: Rng): { what: string; spec: PostgresSpec } {
  const [what, edit] = rng.pick(EDITS);
  return { what, spec: edit(spec, rng) };
}

/** A metadata edit (labels, annotations): the cluster's generation stays, its metadata hash moves. */
export function randomMetadataEdit(pg: Postgresql, rng: Rng): Postgresql['metadata'] {
  const labels = { ...pg.metadata.labels, 'chaos.pgfn.dev/tag': `t${rng.int(4)}` };
  return { ...pg.metadata, labels };
}

/** A random valid starting spec built on `base`. */
export function randomInitialSpec(base: PostgresSpec, rng: Rng): PostgresSpec {
  let spec = base;
  for (let i = rng.int(3); i > 0; i--) spec = randomEdit(spec, rng).spec;
  return spec;
}
