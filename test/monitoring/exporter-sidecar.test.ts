import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { expect } from 'chai';
import { parse } from 'yaml';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { buildCluster, loadConfigDocument, placeholderPasswords } from '@pgfn/builder';
import { repoRoot } from '@pgfn/controlplane';

const DIR = join(repoRoot, 'monitoring/postgres-exporter');
const read = (file: string): unknown => parse(readFileSync(file, 'utf8'));

function podSpec(cluster: Postgresql, config: OperatorConfig) {
  const result = buildCluster({ cluster, config, existingSecrets: new Map(), newPassword: placeholderPasswords(), now: new Date(0) });
  expect(result.errors.filter((e) => e.severity === 'error')).to.deep.equal([]);
  const sts = result.objects.find((o) => o.kind === 'StatefulSet') as V1StatefulSet;
  return sts.spec?.template.spec;
}

describe('monitoring: the postgres_exporter sidecar options', () => {
  it('a manifest flag: the sidecar with its port, the superuser from the cluster Secret, the queries mounted into it only', () => {
    const cluster = read(join(DIR, 'cluster-with-exporter.yaml')) as Postgresql;
    const spec = podSpec({ ...cluster, metadata: { ...cluster.metadata, namespace: 'team-a' } }, DEFAULT_OPERATOR_CONFIG);
    const exporter = spec?.containers.find((c) => c.name === 'postgres-exporter');
    expect(exporter?.ports).to.deep.equal([{ name: 'pg-exporter', containerPort: 9187, protocol: 'TCP' }]);
    const env = exporter?.env ?? [];
    const names = env.map((e) => e.name);
    // $(POSTGRES_USER) expands only if the variable comes earlier in the same container.
    expect(names.indexOf('POSTGRES_USER')).to.be.lessThan(names.indexOf('DATA_SOURCE_USER'));
    expect(names.indexOf('POSTGRES_PASSWORD')).to.be.lessThan(names.indexOf('DATA_SOURCE_PASS'));
    expect(env.find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef).to.deep.include({
      name: 'postgres.acid-monitored.credentials.postgresql.acid.zalan.do',
      key: 'password',
    });
    expect(exporter?.volumeMounts?.map((m) => m.mountPath)).to.include('/etc/postgres-exporter');
    const postgres = spec?.containers.find((c) => c.name === 'postgres');
    expect(postgres?.volumeMounts?.map((m) => m.mountPath)).to.not.include('/etc/postgres-exporter');
    expect(spec?.volumes?.find((v) => v.name === 'postgres-exporter-queries')?.configMap?.name).to.equal('pgfn-postgres-exporter-queries');
  });

  it('the operator configuration: every cluster gets the sidecar', () => {
    const base = read(join(repoRoot, 'crds/examples/operatorconfiguration.yaml')) as { configuration: Record<string, unknown> };
    const patch = read(join(DIR, 'operatorconfiguration-sidecar.yaml')) as { configuration: Record<string, unknown> };
    const loaded = loadConfigDocument({ ...base, configuration: { ...base.configuration, ...patch.configuration } });
    expect(loaded.errors).to.deep.equal([]);
    const minimal = read(join(repoRoot, 'crds/examples/minimal.yaml')) as Postgresql;
    const spec = podSpec(minimal, loaded.config);
    expect(spec?.containers.map((c) => c.name)).to.deep.equal(['postgres', 'postgres-exporter']);
  });

  it("the kustomization's ConfigMap carries the same queries the local stack and tests run", () => {
    const kustomization = read(join(repoRoot, 'monitoring/kustomization.yaml')) as {
      configMapGenerator: { name: string; files: string[] }[];
    };
    expect(kustomization.configMapGenerator[0]).to.deep.include({
      name: 'pgfn-postgres-exporter-queries',
      files: ['queries.yaml=postgres-exporter/queries.yaml'],
    });
    const queries = read(join(DIR, 'queries.yaml')) as Record<string, unknown>;
    expect(Object.keys(queries)).to.include.members(['pg_replication', 'pg_connections', 'pg_wraparound', 'pg_archiver']);
  });
});
