// The base backup before the first rotation to a new Spilo image (issue 19, ADR 0091): a cluster that
// archives into a real S3 server, its StatefulSet given a new image (as reconcile writes it): the
// first rolling-update step takes a base backup (Spilo's script exec'd in the primary) and announces
// it for verification; only the next step rotates; events arriving twice take one backup. A backup
// that fails (the S3 server down) stops the rollout until the failure annotation is removed.
// Run under `flock /tmp/pgfn-realpg.lock`.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { API_VERSION, POSTGRESQL_KIND } from '@pgfn/api';
import type { S3Server } from '@pgfn/controlplane';
import { KubeClient } from '@pgfn/kube';
import { applySpiloCluster, type SpiloCluster } from '@pgfn/node-agent/testing';
import { ROLLOUT_BACKUP_ANNOTATION, ROLLOUT_BACKUP_FAILURE_ANNOTATION } from '../../functions/rolling-update/src/rollout-backup-plan.js';
import { s3PodEnvironment, startS3, WAL_BUCKET } from '../backups/support.js';
import { ensureCrds } from '../crds/install.js';
import { startTestAgent, waitForRoles, type TestAgent } from '../node-agent/support.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { clusterBackups, rollingStep, type EmittedEvent } from './backup-support.js';

const NAME = 'acid-rollbackup';
const NEW_IMAGE = 'ghcr.io/zalando/spilo-15:3.0-p2';

describe('rolling-update: a base backup before the first rotation to a new Spilo image (archiving into S3)', function () {
  this.timeout(900_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;
  let s3: S3Server;
  let cluster: SpiloCluster;
  const emitted: EmittedEvent[] = [];
  const pod = `${NAME}-0`;

  const step = (): Promise<string> =>
    rollingStep({ cluster: { namespace: ns.name, name: NAME }, config: cluster.config, emitted, holder: 'rollout-backup-test' });
  const ref = (): { apiVersion: string; kind: string; namespace: string; name: string } => ({
    apiVersion: API_VERSION,
    kind: POSTGRESQL_KIND,
    namespace: ns.name,
    name: NAME,
  });
  type Pg = k8s.KubernetesObject & {
    metadata?: { annotations?: Record<string, string> };
    status?: { conditions?: { type: string; reason?: string; message?: string }[] };
  };
  const readPg = async (): Promise<Pg | undefined> => new KubeClient(kc).get<Pg>(ref());
  const rollingCondition = async (): Promise<{ reason?: string; message?: string } | undefined> =>
    (await readPg())?.status?.conditions?.find((c) => c.type === 'RollingUpdate');
  const core = (): k8s.CoreV1Api => kc.makeApiClient(k8s.CoreV1Api);
  const podNow = (): Promise<k8s.V1Pod> => core().readNamespacedPod({ namespace: ns.name, name: pod });
  const eventMessages = async (): Promise<string[]> =>
    (await core().listNamespacedEvent({ namespace: ns.name })).items.map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`);
  let oldUid: string | undefined;

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    s3 = await startS3();
    ns = await createNamespace(kc, 'ru-rollbackup');
    t = await startTestAgent('pgfn-agent-rollbackup');
    cluster = await applySpiloCluster(kc, {
      namespace: ns.name,
      name: NAME,
      instances: 1,
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
      podEnvironmentSecret: { name: 'pgfn-s3', data: s3PodEnvironment(s3, { BACKUP_SCHEDULE: '0 0 1 1 *' }) },
      config: { walS3Bucket: WAL_BUCKET },
    });
    await new KubeClient(kc).apply({ ...cluster.manifest, metadata: { name: NAME, namespace: ns.name } } as never);
    await waitForRoles(kc, ns.name, NAME, { replicas: 0, timeoutMs: 240_000 });
    await eventually(
      'the bootstrap base backup',
      async () => ((await clusterBackups(s3, cluster)).length > 0 ? true : undefined),
      180_000,
      2000,
    );
    // The new image, as reconcile writes it into the StatefulSet (OnDelete: the pod keeps the old one).
    await kc.makeApiClient(k8s.AppsV1Api).patchNamespacedStatefulSet(
      {
        namespace: ns.name,
        name: NAME,
        body: { spec: { template: { spec: { containers: [{ name: 'postgres', image: NEW_IMAGE }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    oldUid = (await podNow()).metadata?.uid;
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
    await s3?.stop();
  });

  it('a backup that fails stops the rollout: failure annotation, Warning, condition; the pod is not touched, and stays so', async () => {
    await s3.pause();
    try {
      expect(await step()).to.equal('acted');
    } finally {
      await s3.resume();
    }
    const pg = await readPg();
    expect(pg?.metadata?.annotations?.[ROLLOUT_BACKUP_FAILURE_ANNOTATION]).to.equal(NEW_IMAGE);
    expect(pg?.metadata?.annotations ?? {}).not.to.have.key(ROLLOUT_BACKUP_ANNOTATION);
    const failed = await rollingCondition();
    expect(failed?.reason).to.equal('BackupBeforeRolloutFailed');
    expect(failed?.message).to.match(
      new RegExp(`^the base backup before rolling out ${NEW_IMAGE} failed on ${pod}: .+; the rollout waits`),
    );
    expect(emitted.map((e) => e.type)).to.deep.equal(['dev.pgfn.rollingupdate.failed']);
    expect((await eventMessages()).some((m) => m.startsWith('BackupBeforeRolloutFailed: the base backup before rolling out'))).to.equal(
      true,
    );
    // The S3 server is back, but the failure stands until a user removes the annotation.
    expect(await step()).to.equal('waiting');
    expect((await rollingCondition())?.message).to.equal(failed?.message);
    expect(emitted).to.have.length(1);
    expect((await podNow()).metadata?.uid).to.equal(oldUid);
    await new KubeClient(kc).patchMetadata(ref(), { annotations: { [ROLLOUT_BACKUP_FAILURE_ANNOTATION]: null } });
    emitted.length = 0;
  });

  it('takes one base backup (events arriving twice), announces it, records the image; the pod rotates only afterwards', async () => {
    const started = new Date();
    const outcomes = await Promise.all([step(), step()]);
    expect(outcomes, 'one invocation acted').to.include('acted');
    const completed = emitted.filter((e) => e.type === 'dev.pgfn.backup.completed');
    expect(completed, 'one backup announced').to.have.length(1);
    expect(completed[0]?.data).to.deep.include({ namespace: ns.name, name: NAME, outcome: 'completed', pod });
    expect(completed[0]?.data['reason']).to.equal(`before rolling out ${NEW_IMAGE}`);
    const taken = (await clusterBackups(s3, cluster)).filter((b) => (b.startTime?.getTime() ?? 0) >= started.getTime() - 1000);
    expect(taken.length, 'a base backup taken by the step').to.be.greaterThan(0);
    const pg = await readPg();
    expect(pg?.metadata?.annotations?.[ROLLOUT_BACKUP_ANNOTATION]).to.equal(NEW_IMAGE);
    expect(pg?.metadata?.annotations ?? {}).not.to.have.key(ROLLOUT_BACKUP_FAILURE_ANNOTATION);
    const messages = await eventMessages();
    const taking = new RegExp(
      `^BackupBeforeRollout: base backup on ${pod} before rolling out ${NEW_IMAGE} \\(pods run .+\\) taken in [\\d.]+ s`,
    );
    expect(
      messages.some((m) => taking.test(m)),
      messages.join('\n'),
    ).to.equal(true);

    // Steps go on until the pod runs the new image; none takes another backup.
    await eventually(
      'the pod rotated to the new image',
      async () => {
        const outcome = await step();
        const p = await podNow().catch(() => undefined);
        const image = p?.spec?.containers.find((c) => c.name === 'postgres')?.image;
        return outcome === 'up-to-date' && p?.metadata?.uid !== oldUid && image === NEW_IMAGE ? true : undefined;
      },
      300_000,
      2000,
    );
    expect(emitted.filter((e) => e.type === 'dev.pgfn.backup.completed')).to.have.length(1);
    expect((await eventMessages()).filter((m) => m.startsWith('RecreatingSingleInstance') || m.startsWith('RecreatingPod'))).to.have.length(
      1,
    );
  });
});
