// The example manifests of crds/examples/ and the operator configuration they are meant for.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
 * (`npm run test:parallel`; a server-side dry run checks allocation too) must not ask for the same ones.
 */
export function withNodePortsFrom(example: Postgresql, first: number): Postgresql {
  const spec = { ...example.spec };
  const fields = ['masterNodePort', 'replicaNodePort', 'masterPoolerNodePort', 'replicaPoolerNodePort'] as const;
  fields.forEach((field, i) => {
    if (spec[field] !== undefined) spec[field] = first + i;
  });
  return { ...example, spec };
}
