import type { V1Secret } from '@kubernetes/client-node';
import type { PostgresSpec } from '@pgfn/api';
import { buildCluster, desiredObjectKeys, objectsToPrune, type KubeObject } from '@pgfn/builder';
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cluster, config, inputs } from './support.js';

const FULL: Partial<PostgresSpec> = {
  users: { app_owner: ['createdb'] },
  databases: { app: 'app_owner' },
  enableConnectionPooler: true,
  enableReplicaConnectionPooler: true,
  enableLogicalBackup: true,
};
const kinds = (objects: KubeObject[]): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`);

describe('buildCluster', () => {
  it('returns every object in apply order', () => {
    const { objects, errors } = buildCluster(inputs(cluster(FULL), config({ kubernetesUseConfigmaps: false })));
    expect(errors).to.deep.equal([]);
    expect(kinds(objects)).to.deep.equal([
      'ServiceAccount/postgres-pod',
      'RoleBinding/postgres-pod',
      'Secret/app-owner.acid-test.credentials.postgresql.acid.zalan.do',
      'Secret/pooler.acid-test.credentials.postgresql.acid.zalan.do',
      'Secret/postgres.acid-test.credentials.postgresql.acid.zalan.do',
      'Secret/standby.acid-test.credentials.postgresql.acid.zalan.do',
      'Service/acid-test',
      'Service/acid-test-repl',
      'Endpoints/acid-test',
      'PodDisruptionBudget/postgres-acid-test-pdb',
      'PodDisruptionBudget/postgres-acid-test-critical-op-pdb',
      'StatefulSet/acid-test',
      'Secret/acid-test-pooler-u',
      'Deployment/acid-test-pooler',
      'Service/acid-test-pooler',
      'Secret/acid-test-pooler-repl-u',
      'Deployment/acid-test-pooler-repl',
      'Service/acid-test-pooler-repl',
      'CronJob/logical-backup-acid-test',
    ]);
  });

  it('builds the same objects twice from the same inputs', () => {
    const a = buildCluster(inputs(cluster(FULL)));
    const b = buildCluster(inputs(cluster(FULL)));
    expect(JSON.stringify(b.objects)).to.equal(JSON.stringify(a.objects));
  });

  it('rebuilds identical objects from the Secrets it built before, drawing no new password', () => {
    const first = buildCluster(inputs(cluster(FULL)));
    const secrets = new Map(first.objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, o as V1Secret]));
    let drawn = 0;
    const again = buildCluster(inputs(cluster(FULL), config(), { existingSecrets: secrets, newPassword: () => `x${++drawn}` }));
    expect(drawn).to.equal(0);
    expect(again.objects).to.deep.equal(first.objects);
  });

  it("gives the pooler userlist the pooler user's password", () => {
    const { objects, credentials } = buildCluster(inputs(cluster(FULL)));
    const userlist = objects.find((o) => o.metadata.name === 'acid-test-pooler-u') as V1Secret;
    const password = credentials.get('pooler')?.password;
    expect(Buffer.from(userlist.data?.['userlist.txt'] ?? '', 'base64').toString()).to.equal(`"pooler" "${password}"\n`);
  });

  it('builds nothing for an invalid manifest and says why', () => {
    const result = buildCluster(inputs(cluster({ postgresql: { version: '9.6' } })));
    expect(result.objects).to.deep.equal([]);
    expect(result.errors.map((e) => e.path)).to.deep.equal(['spec.postgresql.version']);
  });

  it('builds with warnings and returns them', () => {
    const result = buildCluster(inputs(cluster({ users: { admin: [] } })));
    expect(result.objects).to.not.deep.equal([]);
    expect(result.errors).to.have.length(1);
    expect(result.errors[0]).to.include({ severity: 'warning', path: 'spec.users.admin' });
  });

  it('treats fields written without a value (null) as absent, as the API server does', () => {
    const yaml = [
      'users:\n  app:\ndatabases:\npreparedDatabases:\n  shop:\n    schemas:\n      data:\n',
      'connectionPooler:\nclone:\nstandby:\ntls:\nallowedSourceRanges:\ntolerations:\n',
    ].join('');
    const spec = parseAllDocuments(yaml)[0]?.toJS() as Partial<PostgresSpec>;
    const result = buildCluster(inputs(cluster(spec)));
    expect(result.errors).to.deep.equal([]);
    expect(kinds(result.objects)).to.include.members([
      'Secret/app.acid-test.credentials.postgresql.acid.zalan.do',
      'StatefulSet/acid-test',
    ]);
    expect(kinds(result.objects).some((k) => k.startsWith('Deployment/'))).to.equal(false);
  });

  it('reports a builder failure as an error instead of throwing', () => {
    const result = buildCluster(inputs(cluster(), config({ defaultCpuRequest: 'much' })));
    expect(result.objects).to.deep.equal([]);
    expect(result.errors.at(-1)?.severity).to.equal('error');
  });

  it('makes the postgresql object the owner of every cluster object but the shared account and binding', () => {
    const { objects } = buildCluster(inputs(cluster(FULL, { uid: 'uid-7' }), config({ enableOwnerReferences: true })));
    for (const o of objects) {
      const owner = o.metadata.ownerReferences?.[0];
      if (o.kind === 'ServiceAccount' || o.kind === 'RoleBinding') expect(owner, o.kind).to.equal(undefined);
      else
        expect(owner, `${o.kind}/${o.metadata.name}`).to.include({ kind: 'postgresql', name: 'acid-test', uid: 'uid-7', controller: true });
    }
  });

  it('copies inherited labels to the cluster objects upstream copies them to', () => {
    const c = cluster(FULL, { labels: { environment: 'demo' } });
    const { objects } = buildCluster(inputs(c, config({ inheritedLabels: ['environment'] })));
    // Upstream labels these with selector labels only (connectionPoolerLabels(role, false)).
    const selectorOnly = [
      'Service/acid-test-pooler',
      'Service/acid-test-pooler-repl',
      'Secret/pooler.acid-test.credentials.postgresql.acid.zalan.do',
    ];
    for (const o of objects.filter((x) => x.kind !== 'ServiceAccount' && x.kind !== 'RoleBinding')) {
      const key = `${o.kind}/${o.metadata.name}`;
      expect(o.metadata.labels?.['environment'], key).to.equal(selectorOnly.includes(key) ? undefined : 'demo');
    }
  });
});

describe('objectsToPrune', () => {
  it('names the pooler objects and the CronJob once they are switched off', () => {
    const c = cluster();
    const refs = objectsToPrune(c, config(), buildCluster(inputs(c)).objects).map((r) => `${r.kind}/${r.name}`);
    expect(refs).to.deep.equal([
      'Deployment/acid-test-pooler',
      'Service/acid-test-pooler',
      'Secret/acid-test-pooler-u',
      'Deployment/acid-test-pooler-repl',
      'Service/acid-test-pooler-repl',
      'Secret/acid-test-pooler-repl-u',
      'Secret/pooler.acid-test.credentials.postgresql.acid.zalan.do',
      'CronJob/logical-backup-acid-test',
    ]);
  });
  it('names nothing while everything is wanted', () => {
    const c = cluster(FULL);
    expect(objectsToPrune(c, config(), buildCluster(inputs(c)).objects)).to.deep.equal([]);
  });
  it('keys objects by kind, namespace and name', () => {
    expect([...desiredObjectKeys(buildCluster(inputs(cluster())).objects)]).to.include('StatefulSet/test/acid-test');
  });
});

describe('@pgfn/builder index', () => {
  it('re-exports every module of the package but the CLI entry point', () => {
    const src = resolve(import.meta.dirname, '../../shared/builder/src');
    const modules = readdirSync(src)
      .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'render-cli.ts')
      .map((f) => f.replace(/\.ts$/, ''));
    const index = readFileSync(resolve(src, 'index.ts'), 'utf8');
    expect(modules.filter((m) => !index.includes(`'./${m}.js'`))).to.deep.equal([]);
  });
});
