// The example manifests of crds/examples/ and the operator configuration they are meant for.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';
import { fromOperatorConfiguration, type OperatorConfig, type OperatorConfiguration, type Postgresql } from '@pgfn/api';
import { parse } from 'yaml';

const EXAMPLES = resolve(import.meta.dirname, '../../crds/examples');

/** crds/examples/operatorconfiguration.yaml: what pgfn ships as its configuration. */
export function exampleConfig(): OperatorConfig {
  const doc = parse(readFileSync(join(EXAMPLES, 'operatorconfiguration.yaml'), 'utf8')) as OperatorConfiguration;
  const { config, errors } = fromOperatorConfiguration(doc);
  if (errors.length > 0) throw new Error(`crds/examples/operatorconfiguration.yaml: ${errors.map((e) => e.message).join(' ')}`);
  return config;
}

/** The postgresql examples, by file name without .yaml. */
export function clusterExamples(): Map<string, Postgresql> {
  const out = new Map<string, Postgresql>();
  for (const file of readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const doc = parse(readFileSync(join(EXAMPLES, file), 'utf8')) as Postgresql;
    if (doc.kind === 'postgresql') out.set(file.replace(/\.yaml$/, ''), doc);
  }
  return out;
}

/**
 * `example` with the node ports it fixes (complete.yaml: 30432–30435) moved to `first`, `first + 1`, …:
 * node ports are cluster-wide, and test files that create the same example's Services at the same time
 * (`npm test` runs two files at a time; a server-side dry run checks allocation too) must not ask for the same ones.
 */
export function withNodePortsFrom(example: Postgresql, first: number): Postgresql {
  const spec = { ...example.spec };
  const fields = NODE_PORT_FIELDS;
  fields.forEach((field, i) => {
    if (spec[field] !== undefined) spec[field] = first + i;
  });
  return { ...example, spec };
}

const NODE_PORT_FIELDS = ['masterNodePort', 'replicaNodePort', 'masterPoolerNodePort', 'replicaPoolerNodePort'] as const;
const LAST_NODE_PORT = 32767;

/**
 * The first of withNodePortsFrom's consecutive node ports, from `preferred` on, that no Service holds
 * now: a load balancer of another test file gets node ports the API server picks at random, and keeps
 * them until its namespace is gone (a CI run once found 31432 taken that way).
 */
export async function freeNodePortsFrom(core: CoreV1Api, preferred: number): Promise<number> {
  const services = await core.listServiceForAllNamespaces();
  const taken = new Set(services.items.flatMap((s) => (s.spec?.ports ?? []).map((p) => p.nodePort)));
  const count = NODE_PORT_FIELDS.length;
  for (let first = preferred; first + count - 1 <= LAST_NODE_PORT; first += count) {
    if (Array.from({ length: count }, (_, i) => first + i).every((port) => !taken.has(port))) return first;
  }
  throw new Error(`no ${count} free node ports from ${preferred} to ${LAST_NODE_PORT}`);
}
