// Crash after each write (issue 20, item 2, backup-verify; ADR 0082): a verification of a cluster's
// archive (a real S3 server holding WAL-G's layout, the fixture of test/backup-verify; no Postgres) is
// stopped at its (n+1)-th API write, n = 0, 1, … until one runs through; the dead instance's Lease is
// left as it was. Then the Broker redelivers to a fresh instance (its own holder) with backoff: it must
// answer 200 once the dead holder's Lease has expired, leave BackupVerified True, the Lease released
// and no object behind (no Job, no second Lease). Acts as backup-verify's ServiceAccount. The fresh
// instance's clock runs a Lease duration ahead (injected), so the expiry is not waited out in real time:
// that a redelivery is refused while the dead holder's Lease is valid is checked with the real clock.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { S3Server } from '@pgfn/controlplane';
import { clusterLeaseName } from '@pgfn/fn-runtime';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { segmentNames, startSubscriber, startVerify, writeWalgArchive } from '../backup-verify/support.js';

type Cluster = Postgresql & k8s.KubernetesObject & { status?: { conditions?: { type: string; status: string; reason: string }[] } };
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const BUCKET = 'pgfn-wal';
const WRITES = new Set(['apply', 'create', 'delete', 'patch', 'patch-status', 'replace']);
/** backup-verify's Lease lasts 60 s. */
const LEASE_MS = 60_000;
/** A redelivery after the Lease has expired must succeed within a few retries. */
const CONVERGE_WITHIN_MS = 30_000;

describe('reliability: backup-verify killed after each of its writes converges on the next delivery', function () {
  this.timeout(900_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let s3: S3Server;
  let subscriber: Awaited<ReturnType<typeof startSubscriber>>;
  const config: OperatorConfig = { ...structuredClone(DEFAULT_OPERATOR_CONFIG), walS3Bucket: BUCKET };

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    s3 = await S3Server.start({ buckets: [BUCKET] });
    ns = await createNamespace(kc, 'bv-crash');
    subscriber = await startSubscriber();
  });
  after(async () => {
    await subscriber?.stop();
    await s3?.stop();
    await ns?.cleanup();
  });

  async function newCluster(name: string): Promise<void> {
    const body: Cluster = {
      apiVersion: 'acid.zalan.do/v1',
      kind: 'postgresql',
      metadata: { name, namespace: ns.name },
      spec: { teamId: 'acid', numberOfInstances: 1, postgresql: { version: '15' }, volume: { size: '1Gi' } },
    };
    const created = (await kc
      .makeApiClient(k8s.CustomObjectsApi)
      .createNamespacedCustomObject({ ...PG, namespace: ns.name, body })) as Cluster;
    const prefix = `spilo/${name}/${created.metadata?.uid ?? ''}/wal/15`;
    await writeWalgArchive({ s3, bucket: BUCKET, prefix, segments: segmentNames(0x20, 20), ageSeconds: 3600 });
  }

  async function leaseHolder(name: string): Promise<string> {
    const leases = await kc.makeApiClient(k8s.CoordinationV1Api).listNamespacedLease({ namespace: ns.name });
    const lease = leases.items.find((l) => l.metadata?.name === clusterLeaseName(name, 'backup-verify'));
    return lease?.spec?.holderIdentity ?? '';
  }

  const request = (name: string): { type: string; subject: string } => ({
    type: 'dev.pgfn.backup.verify.requested',
    subject: `${ns.name}/${name}`,
  });

  it('after every write: BackupVerified True, the Lease released, nothing left behind', async () => {
    const report: string[] = [];
    for (let n = 0; ; n++) {
      const name = `acid-bvc-${n}`;
      await newCluster(name);
      let made = 0;
      let crashed = false;
      const dying = await startVerify({
        s3,
        config,
        sink: subscriber.url,
        policy: { restoreTest: false },
        observe: (verb) => {
          if (!WRITES.has(verb)) return;
          if (made >= n) {
            crashed = true;
            throw new Error(`crashed after ${n} write(s)`);
          }
          made++;
        },
      });
      const first = await dying.post(request(name)).finally(() => dying.stop());
      if (!crashed) {
        expect(first, 'the run that did not crash').to.equal(200);
        report.push(`${n} writes, no crash: 200`);
        break;
      }
      expect(first, `the crashed invocation (after ${n} writes)`).to.equal(503);

      const leaseHeld = await leaseHolder(name);
      if (leaseHeld !== '') {
        // The dead holder's Lease is still valid: a redelivery now (real clock) must be refused.
        const early = await startVerify({ s3, config, sink: subscriber.url, policy: { restoreTest: false } });
        const status = await early.post(request(name)).finally(() => early.stop());
        expect(status, `a redelivery while ${leaseHeld} holds the Lease`).to.equal(503);
      }
      const later = (): Date => new Date(Date.now() + LEASE_MS + 1_000);
      const fresh = await startVerify({ s3, config, sink: subscriber.url, policy: { restoreTest: false }, now: later });
      const started = Date.now();
      try {
        let status = 0;
        for (let delay = 200; status !== 200; delay = Math.min(delay * 2, 10_000)) {
          expect(Date.now() - started, `a redelivery answered 200 within ${CONVERGE_WITHIN_MS} ms`).to.be.lessThan(CONVERGE_WITHIN_MS);
          status = await fresh.post(request(name));
          if (status !== 200) await new Promise((r) => setTimeout(r, delay));
        }
      } finally {
        await fresh.stop();
      }
      report.push(`crash after ${n} writes: converged after ${Date.now() - started} ms`);

      const cluster = (await kc
        .makeApiClient(k8s.CustomObjectsApi)
        .getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;
      const verified = cluster.status?.conditions?.find((c) => c.type === 'BackupVerified');
      expect(verified?.status, `${name} BackupVerified (${verified?.reason ?? 'none'})`).to.equal('True');
      const leases = (await kc.makeApiClient(k8s.CoordinationV1Api).listNamespacedLease({ namespace: ns.name })).items.filter((l) =>
        l.metadata?.name?.startsWith(clusterLeaseName(name, 'backup-verify')),
      );
      expect(leases.length, 'Leases of the cluster').to.be.at.most(1);
      expect(await leaseHolder(name), 'the Lease released').to.equal('');
      const jobs = (await kc.makeApiClient(k8s.BatchV1Api).listNamespacedJob({ namespace: ns.name })).items;
      expect(
        jobs.map((j) => j.metadata?.name),
        'Jobs left behind',
      ).to.deep.equal([]);
    }
    console.log(`      ${report.join('; ')}`);
    expect(report.length, 'crash points, then the run without a crash').to.be.greaterThan(2);
  });
});
