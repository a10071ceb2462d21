// How long buildCluster takes: the median (and p95) over many builds of crds/examples/complete.yaml,
// and over 1,000 random but valid manifests. Run: node --import tsx bench/builder.ts
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fromOperatorConfiguration, type OperatorConfiguration, type Postgresql, type PostgresSpec } from '@pgfn/api';
import { buildCluster, placeholderPasswords, SUPPORTED_VERSIONS, type BuildInputs } from '@pgfn/builder';
import { parse } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..');
const config = fromOperatorConfiguration(
  parse(readFileSync(resolve(ROOT, 'crds/examples/operatorconfiguration.yaml'), 'utf8')) as OperatorConfiguration,
).config;
const NOW = new Date('2026-01-01T00:00:00Z');

/** A small seeded PRNG (mulberry32), so every run measures the same specs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCluster(next: () => number, i: number): Postgresql {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const chance = (p: number): boolean => next() < p;
  const users: Record<string, string[]> = {};
  for (let u = 0; u < Math.floor(next() * 6); u++)
    users[`user_${u}`] = chance(0.5) ? [pick(['createdb', 'login', 'nologin', 'superuser'])] : [];
  const spec: PostgresSpec = {
    teamId: 'acid',
    numberOfInstances: Math.floor(next() * 5),
    postgresql: { version: pick(SUPPORTED_VERSIONS), parameters: chance(0.5) ? { max_connections: '200', shared_buffers: '64MB' } : {} },
    volume: { size: pick(['1Gi', '10Gi', '100Gi']) },
    users,
    databases: Object.keys(users).length > 0 ? { app: Object.keys(users)[0] as string } : {},
    enableConnectionPooler: chance(0.4),
    enableReplicaConnectionPooler: chance(0.2),
    enableLogicalBackup: chance(0.3),
    enableMasterLoadBalancer: chance(0.2),
    enableReplicaNodePort: chance(0.1),
    resources: chance(0.5) ? { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } } : undefined,
    preparedDatabases: chance(0.3)
      ? { shop: { defaultUsers: chance(0.5), schemas: { data: {}, history: { defaultUsers: true } } } }
      : undefined,
    tls: chance(0.2) ? { secretName: `tls-${i}`, caFile: 'ca.crt' } : undefined,
    podAnnotations: chance(0.3) ? { 'example.com/i': String(i) } : undefined,
    serviceAnnotations: chance(0.3) ? { 'example.com/svc': 'yes' } : undefined,
    maintenanceWindows: chance(0.3) ? ['Sat:01:00-04:00'] : undefined,
  };
  return { apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', metadata: { name: `acid-bench-${i}`, namespace: 'bench' }, spec };
}

function inputs(cluster: Postgresql): BuildInputs {
  return { cluster, config, existingSecrets: new Map(), newPassword: placeholderPasswords(), now: NOW };
}

/** Milliseconds per build, one timing per cluster. */
function time(clusters: readonly Postgresql[]): number[] {
  return clusters.map((c) => {
    const start = performance.now();
    const result = buildCluster(inputs(c));
    const ms = performance.now() - start;
    if (result.objects.length === 0) throw new Error(`${c.metadata.name}: ${JSON.stringify(result.errors)}`);
    return ms;
  });
}

function stats(label: string, ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return `${label}: n=${ms.length} median=${at(0.5).toFixed(3)} ms p95=${at(0.95).toFixed(3)} ms max=${at(1).toFixed(3)} ms`;
}

const complete = parse(readFileSync(resolve(ROOT, 'crds/examples/complete.yaml'), 'utf8')) as Postgresql;
complete.metadata.namespace = 'bench';
time(Array.from({ length: 200 }, () => complete)); // warm-up: JIT and module initialisation
console.log(stats('crds/examples/complete.yaml', time(Array.from({ length: 1000 }, () => complete))));

const next = rng(20261121);
const random = Array.from({ length: 1000 }, (_, i) => randomCluster(next, i));
time(random.slice(0, 200));
console.log(stats('1,000 random specs', time(random)));
