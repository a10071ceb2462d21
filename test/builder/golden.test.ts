// Golden files: every object built from every postgresql example in crds/examples/, under the
// configuration in crds/examples/operatorconfiguration.yaml, as test/golden/<example>/<kind>-<name>.yaml.
// Regenerate with PGFN_UPDATE_GOLDEN=1 and review the diff like code. The semantic checks below keep
// the intent of each example true whatever the files say.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { V1Container, V1CronJob, V1Deployment, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { buildCluster, placeholderPasswords, renderYaml, type KubeObject } from '@pgfn/builder';
import { expect } from 'chai';
import { clusterExamples, exampleConfig } from './examples.js';

const GOLDEN = resolve(import.meta.dirname, '../golden');
const UPDATE = process.env['PGFN_UPDATE_GOLDEN'] === '1';
const NOW = new Date('2026-01-01T00:00:00Z');

function build(cluster: Postgresql, config: OperatorConfig): KubeObject[] {
  const c = structuredClone(cluster);
  c.metadata.namespace ??= 'default';
  const result = buildCluster({ cluster: c, config, existingSecrets: new Map(), newPassword: placeholderPasswords(), now: NOW });
  const errors = result.errors.filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return result.objects;
}

const fileName = (o: KubeObject): string => `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;

describe('golden objects of crds/examples', () => {
  const config = exampleConfig();
  const examples = clusterExamples();

  it('finds the postgresql examples', () => {
    expect([...examples.keys()]).to.include.members(['minimal', 'complete', 'pooler', 'logical-backup', 'standby', 'tls']);
  });

  for (const [name, cluster] of examples) {
    it(`${name}: matches test/golden/${name}/`, () => {
      const dir = join(GOLDEN, name);
      const objects = build(cluster, config);
      const want = new Map(objects.map((o) => [fileName(o), renderYaml([o])]));
      expect(want.size, 'object file names are unique').to.equal(objects.length);
      if (UPDATE) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        for (const [file, text] of want) writeFileSync(join(dir, file), text);
      }
      expect(existsSync(dir), `${dir} is missing: run PGFN_UPDATE_GOLDEN=1 npx mocha test/builder/golden.test.ts`).to.equal(true);
      expect(readdirSync(dir).sort()).to.deep.equal([...want.keys()].sort());
      for (const [file, text] of want) expect(text, `${name}/${file}`).to.equal(readFileSync(join(dir, file), 'utf8'));
    });
  }

  const objectsOf = (name: string): KubeObject[] => build(examples.get(name) as Postgresql, config);
  const find = <T>(objects: KubeObject[], kind: string, objectName: string): T => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === objectName);
    expect(found, `${kind}/${objectName}`).to.not.equal(undefined);
    return found as T;
  };
  const envOf = (c: V1Container | undefined, name: string): string | undefined => c?.env?.find((e) => e.name === name)?.value;

  it("minimal: two pods, the owner role's Secret, Services selecting by role", () => {
    const objects = objectsOf('minimal');
    expect(find<V1StatefulSet>(objects, 'StatefulSet', 'acid-minimal').spec?.replicas).to.equal(2);
    find(objects, 'Secret', 'app-owner.acid-minimal.credentials.postgresql.acid.zalan.do');
    expect(find<V1Service>(objects, 'Service', 'acid-minimal').spec?.selector?.['spilo-role']).to.equal('master');
    expect(objects.some((o) => o.kind === 'Deployment' || o.kind === 'CronJob')).to.equal(false);
  });

  it('pooler: two PgBouncer pods per role in transaction mode', () => {
    const objects = objectsOf('pooler');
    for (const name of ['acid-pooled-pooler', 'acid-pooled-pooler-repl']) {
      const d = find<V1Deployment>(objects, 'Deployment', name);
      expect(d.spec?.replicas).to.equal(2);
      expect(envOf(d.spec?.template.spec?.containers[0], 'CONNECTION_POOLER_MODE')).to.equal('transaction');
      find(objects, 'Service', name);
      find(objects, 'Secret', `${name}-u`);
    }
  });

  it("logical-backup: the manifest's schedule and retention", () => {
    const job = find<V1CronJob>(objectsOf('logical-backup'), 'CronJob', 'logical-backup-acid-dumped');
    expect(job.spec?.schedule).to.equal('30 2 * * *');
    expect(envOf(job.spec?.jobTemplate.spec?.template.spec?.containers[0], 'LOGICAL_BACKUP_S3_RETENTION_TIME')).to.equal('2 weeks');
  });

  it('complete: node ports win over the master load balancer, everything optional is present', () => {
    const objects = objectsOf('complete');
    expect(find<V1Service>(objects, 'Service', 'acid-complete').spec).to.include({ type: 'NodePort' });
    expect(find<V1Service>(objects, 'Service', 'acid-complete').spec?.ports?.[0]?.nodePort).to.equal(30432);
    expect(new Set(objects.map((o) => o.kind))).to.deep.equal(
      new Set(['ServiceAccount', 'RoleBinding', 'Secret', 'Service', 'PodDisruptionBudget', 'StatefulSet', 'Deployment', 'CronJob']),
    );
    find(objects, 'Secret', 'fes-user.acid-complete.credentials.postgresql.acid.zalan.do');
    find(objects, 'Secret', 'shop-owner-user.acid-complete.credentials.postgresql.acid.zalan.do');
  });

  it('tls and standby: the pod template carries their settings', () => {
    const tls = find<V1StatefulSet>(objectsOf('tls'), 'StatefulSet', 'acid-tls');
    expect(tls.spec?.template.spec?.volumes?.map((v) => v.name)).to.include('acid-tls-cert');
    const standby = find<V1StatefulSet>(objectsOf('standby'), 'StatefulSet', 'acid-standby');
    expect(standby.spec?.template.spec?.containers[0]?.env?.map((e) => e.name)).to.include('STANDBY_HOST');
  });
});
