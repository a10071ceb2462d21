// rolling-update end to end on real Patroni (issue 16): the whole local stack (adapters → broker →
// reconcile + rolling-update as their own ServiceAccounts → node agent with Patroni 3 + PostgreSQL 15),
// one 3-instance synchronous_mode cluster changed the way a user would. Figures (write gap, rollout
// time) are printed for the record; `npm run bench:rolling-update` measures them. Run under
// `flock /tmp/pgfn-realpg.lock`.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { cachedLoader, ClusterLease, clusterLeaseName, createLogger, eventRecorder, loadOperatorConfig } from '@pgfn/fn-runtime';
import { ROLLING_UPDATE_REQUIRED_ANNOTATION } from '@pgfn/builder';
import { PatroniClient } from '@pgfn/patroni';
import { FailoverWriter } from '@pgfn/node-agent/testing';
import { KubeClient } from '@pgfn/kube';
import { advance } from '../../functions/rolling-update/src/index.js';
import { connect, waitForRoles } from '../node-agent/support.js';
import { identityForFunction } from '../support/fn-identity.js';
import { eventually } from '../support/kube.js';
import { manifest, PG, startStack, type Cluster, type Stack } from '../e2e/stack.js';

const NAME = 'acid-roll';
const POD_TIMEOUT_SECONDS = 45;

describe('rolling-update on real Patroni, the operator in the loop', function () {
  this.timeout(900_000);
  let s: Stack;

  before(async () => {
    s = await startStack({
      prefix: 'roll',
      functions: { reconcile: {}, 'rolling-update': { POD_TIMEOUT_SECONDS: String(POD_TIMEOUT_SECONDS) } },
    });
    const body = manifest(s.namespace, NAME, {
      numberOfInstances: 3,
      dockerImage: 'ghcr.io/zalando/spilo-15:3.0-p1',
      volume: { size: '1Gi', storageClass: 'pgfn-local' },
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4, synchronous_mode: true },
      postgresql: { version: '15', parameters: { max_connections: '100', work_mem: '4MB' } },
    });
    await s.custom.createNamespacedCustomObject({ ...PG, namespace: s.namespace, body });
    await waitForRoles(s.kc, s.namespace, NAME, { replicas: 2, timeoutMs: 300_000 });
    await s.waitFor('Running', NAME, (c) => (c?.status?.PostgresClusterStatus === 'Running' ? true : undefined), 300_000);
  });
  after(async () => {
    await s?.stop();
  });

  const condition = (c: Cluster | undefined, type: string): { status?: string; reason?: string; message?: string } | undefined =>
    c?.status?.conditions?.find((x) => x.type === type);
  const ourEvents = async (): Promise<k8s.CoreV1Event[]> => {
    const list = await s.core.listNamespacedEvent({ namespace: s.namespace });
    return list.items
      .filter((e) => e.source?.component === 'pgfn-rolling-update' && e.involvedObject.name === NAME)
      .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion));
  };
  const pods = async (): Promise<k8s.V1Pod[]> =>
    (await s.core.listNamespacedPod({ namespace: s.namespace, labelSelector: `application=spilo,cluster-name=${NAME}` })).items;
  const rolledTo = (image: string) => async (): Promise<true | undefined> => {
    const c = await s.read(NAME);
    const all = await pods();
    const done =
      all.length === 3 &&
      all.every(
        (p) =>
          p.spec?.containers[0]?.image === image &&
          p.metadata?.annotations?.['zalando-postgres-operator-rolling-update-required'] === undefined,
      ) &&
      condition(c, 'RollingUpdate')?.status === 'False';
    return done ? true : undefined;
  };
  async function sqlOn(ip: string, query: string): Promise<Record<string, unknown>[]> {
    const client = await connect(ip, await s.password(NAME, 'postgres'));
    try {
      return (await client.query(query)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }

  it('rotates every pod on an image change: replicas first, one switchover, no acknowledged row lost', async () => {
    const before = await waitForRoles(s.kc, s.namespace, NAME, 2);
    const uids = new Map((await pods()).map((p) => [p.metadata?.name, p.metadata?.uid]));
    const writer = new FailoverWriter({
      resolver: s.agent.agent.resolver,
      host: `${NAME}.${s.namespace}.svc`,
      user: 'postgres',
      password: await s.password(NAME, 'postgres'),
    });
    await writer.start();
    const started = Date.now();
    const eventsBefore = (await ourEvents()).length;
    await s.edit(NAME, (spec) => ({ ...spec, dockerImage: 'ghcr.io/zalando/spilo-15:3.0-p2' }));
    await eventually('every pod rotated to the new image', rolledTo('ghcr.io/zalando/spilo-15:3.0-p2'), 600_000, 1000);
    const rolloutMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 1000));
    await writer.stop();
    const after = await waitForRoles(s.kc, s.namespace, NAME, 2);
    for (const p of await pods()) expect(p.metadata?.uid, `${p.metadata?.name} was recreated`).to.not.equal(uids.get(p.metadata?.name));
    const steps = (await ourEvents()).slice(eventsBefore).filter((e) => ['RecreatingPod', 'Switchover'].includes(e.reason ?? ''));
    const order = steps.map((e) =>
      e.reason === 'Switchover' ? 'switchover' : /recreating (master|replica) (\S+):/.exec(e.message ?? '')?.[2],
    );
    const replicas = before.replicas.map((r) => r.name).sort();
    expect([...order.slice(0, 2)].sort(), 'replicas first').to.deep.equal(replicas);
    expect(order.slice(2), 'one switchover, then the old master').to.deep.equal(['switchover', before.master.name]);
    expect(after.master.name).to.not.equal(before.master.name);
    const client = await connect(after.master.ip ?? '', await s.password(NAME, 'postgres'));
    try {
      expect(await writer.missing(client), 'acknowledged rows missing after the rollout').to.deep.equal([]);
    } finally {
      await client.end();
    }
    const completed = (await ourEvents()).filter((e) => e.reason === 'RollingUpdateCompleted');
    expect(completed.length).to.be.greaterThan(0);
    const gap = writer.maxGapMs(started);
    console.log(`      rollout ${(rolloutMs / 1000).toFixed(1)} s, longest write gap ${gap} ms, ${writer.acks.length} rows acknowledged`);
  });

  it('applies max_connections with restarts, replicas before the primary, and work_mem without one', async () => {
    const { master, replicas } = await waitForRoles(s.kc, s.namespace, NAME, 2);
    const eventsBefore = (await ourEvents()).length;
    const started = Date.now();
    await s.edit(NAME, (spec) => ({
      ...spec,
      postgresql: { ...spec.postgresql, parameters: { max_connections: '150', work_mem: '4MB' } },
    }));
    await eventually(
      'SHOW max_connections = 150 on every member',
      async () => {
        for (const m of [master, ...replicas]) {
          const rows = await sqlOn(m.ip ?? '', 'SHOW max_connections');
          if (rows[0]?.['max_connections'] !== '150') return undefined;
        }
        return true;
      },
      300_000,
      1000,
    );
    console.log(`      max_connections live on every member after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // The Event follows the restart's answer, a moment after the primary already serves the new value.
    const roles = await eventually(
      "the primary's restart recorded",
      async () => {
        const restarts = (await ourEvents()).slice(eventsBefore).filter((e) => e.reason === 'PostgresRestarted');
        const seen = restarts.map((e) => /on (primary|replica) /.exec(e.message ?? '')?.[1]);
        return seen.includes('primary') ? seen : undefined;
      },
      30_000,
      500,
    );
    // Replicas first, then the primary. (Patroni may ask a replica for one more restart once it has
    // replayed the primary's new value; rolling-update follows what Patroni reports.)
    expect(roles.slice(0, roles.indexOf('primary') + 1), 'restart order').to.deep.equal(['replica', 'replica', 'primary']);
    const patched = (await ourEvents()).slice(eventsBefore).filter((e) => e.reason === 'PatroniConfigPatched');
    expect(patched).to.have.length(1);
    expect(patched[0]?.message).to.match(/max_connections 100 → 150/);

    const startTime = (await sqlOn(master.ip ?? '', 'SELECT pg_postmaster_start_time()::text AS t'))[0]?.['t'];
    const eventsBeforeWorkMem = (await ourEvents()).length;
    await s.edit(NAME, (spec) => ({
      ...spec,
      postgresql: { ...spec.postgresql, parameters: { max_connections: '150', work_mem: '8MB' } },
    }));
    await eventually(
      'SHOW work_mem = 8MB on the master',
      async () => ((await sqlOn(master.ip ?? '', 'SHOW work_mem'))[0]?.['work_mem'] === '8MB' ? true : undefined),
      120_000,
      500,
    );
    expect((await sqlOn(master.ip ?? '', 'SELECT pg_postmaster_start_time()::text AS t'))[0]?.['t'], 'no restart').to.equal(startTime);
    // Nothing changes on the pods after a reload: the periodic check confirms it.
    await eventually(
      'PatroniConfigApplied True on a periodic check',
      async () => {
        s.pipeline.pings.fire('pgfn-rolling-update-check');
        return condition(await s.read(NAME), 'PatroniConfigApplied')?.status === 'True' ? true : undefined;
      },
      120_000,
      2000,
    );
    const primaryRestarts = (await ourEvents())
      .slice(eventsBeforeWorkMem)
      .filter((e) => e.reason === 'PostgresRestarted' && /on primary /.test(e.message ?? ''));
    expect(primaryRestarts, 'no restart of the primary for work_mem').to.deep.equal([]);
  });

  it('grows the volumes, and refuses to shrink them with a message', async () => {
    await s.edit(NAME, (spec) => ({ ...spec, volume: { ...spec.volume, size: '2Gi' } }));
    const claims = await eventually(
      'PVCs at 2Gi',
      async () => {
        const list = (await s.core.listNamespacedPersistentVolumeClaim({ namespace: s.namespace, labelSelector: `cluster-name=${NAME}` }))
          .items;
        return list.length === 3 && list.every((c) => c.status?.capacity?.['storage'] === '2Gi') ? list : undefined;
      },
      120_000,
      500,
    );
    for (const c of claims) {
      const pv = await s.core.readPersistentVolume({ name: c.spec?.volumeName ?? '' });
      expect(pv.spec?.capacity?.['storage'], pv.metadata?.name).to.equal('2Gi');
    }
    await s.edit(NAME, (spec) => ({ ...spec, volume: { ...spec.volume, size: '1Gi' } }));
    const refused = await s.waitFor('VolumesResized False', NAME, (c) => {
      const v = condition(c, 'VolumesResized');
      return v?.status === 'False' ? v : undefined;
    });
    expect(refused.message).to.match(/cannot shrink volume pgdata-acid-roll-0 from 2Gi to 1Gi/);
    const warnings = (await ourEvents()).filter((e) => e.reason === 'VolumeResizeRefused');
    expect(warnings.length).to.be.greaterThan(0);
    const list = (await s.core.listNamespacedPersistentVolumeClaim({ namespace: s.namespace, labelSelector: `cluster-name=${NAME}` }))
      .items;
    expect(list.map((c) => c.spec?.resources?.requests?.['storage'])).to.deep.equal(['2Gi', '2Gi', '2Gi']);
    await s.edit(NAME, (spec) => ({ ...spec, volume: { ...spec.volume, size: '2Gi' } }));
  });

  it('resumes on the periodic check when the function stopped and its events were lost', async () => {
    const eventsBefore = (await ourEvents()).length;
    await s.edit(NAME, (spec) => ({ ...spec, dockerImage: 'ghcr.io/zalando/spilo-15:3.0-p3' }));
    await eventually(
      'the first step',
      async () => ((await ourEvents()).slice(eventsBefore).some((e) => e.reason === 'RecreatingPod') ? true : undefined),
      120_000,
      200,
    );
    for (const a of s.pipeline.adapters) await a.kill();
    await s.pipeline.supervisor.stopFunction('rolling-update');
    await s.pipeline.broker.idle();
    await new Promise((r) => setTimeout(r, 15_000));
    expect(await rolledTo('ghcr.io/zalando/spilo-15:3.0-p3')(), 'no progress without events').to.equal(undefined);
    await eventually(
      'the rollout finished by periodic checks alone',
      async () => {
        s.pipeline.pings.fire('pgfn-rolling-update-check');
        await s.pipeline.broker.idle();
        return rolledTo('ghcr.io/zalando/spilo-15:3.0-p3')();
      },
      600_000,
      2000,
    );
    const switchovers = (await ourEvents()).slice(eventsBefore).filter((e) => e.reason === 'Switchover');
    expect(switchovers).to.have.length(1);
  });

  it('takes the Lease only to act: another holder makes a step wait, and a cluster with nothing to do costs no Lease write', async () => {
    const id = await identityForFunction('rolling-update');
    const kube = new KubeClient(id.kubeconfig);
    const now = (): Date => new Date();
    const source = { object: 'pgfn-e2e-configuration', namespace: s.namespace };
    const deps: Parameters<typeof advance>[0] = {
      kube,
      patroni: new PatroniClient(),
      loadConfig: cachedLoader(() => loadOperatorConfig(kube, source)),
      recordEvent: eventRecorder({ kube, component: 'pgfn-rolling-update', now }),
      emit: () => Promise.resolve(),
      now,
      holder: 'instance-b',
      podTimeoutMs: 60_000,
    };
    const log = createLogger('rolling-update-test');
    const ref = { namespace: s.namespace, name: NAME };
    // At rest first: the rollout before this test may still have its completion to announce.
    await eventually(
      'the cluster at rest',
      async () => ((await advance(deps, ref, { log })) === 'up-to-date' ? true : undefined),
      180_000,
      1000,
    );
    // Another instance holds the cluster's Lease until the test lets go.
    const other = new ClusterLease({
      kube,
      namespace: s.namespace,
      name: clusterLeaseName(NAME, 'rolling-update'),
      holder: 'instance-a',
      durationSeconds: 120,
    });
    let letGo = (): void => undefined;
    const holding = other.hold(() => new Promise<void>((resolve) => (letGo = resolve)));
    const leaseVersion = async (): Promise<string | undefined> =>
      (
        await kube.get<k8s.V1Lease>({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          namespace: s.namespace,
          name: clusterLeaseName(NAME, 'rolling-update'),
        })
      )?.metadata?.resourceVersion;
    await eventually(
      'the other instance holds the Lease',
      async () => ((await leaseVersion()) === undefined ? undefined : true),
      10_000,
      100,
    );
    const { replicas } = await waitForRoles(s.kc, s.namespace, NAME, 2);
    const replica = replicas[0]?.name ?? '';
    const replicaUid = (await pods()).find((p) => p.metadata?.name === replica)?.metadata?.uid;
    try {
      const before = await leaseVersion();
      expect(await advance(deps, ref, { log }), 'nothing to do').to.equal('up-to-date');
      expect(await leaseVersion(), 'no Lease write for a cluster with nothing to do').to.equal(before);
      await s.core.patchNamespacedPod(
        { namespace: s.namespace, name: replica, body: { metadata: { annotations: { [ROLLING_UPDATE_REQUIRED_ANNOTATION]: 'true' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      // The step (recreate the flagged replica) needs the Lease; until every pod is healthy the plan only
      // waits, which needs none. Anything but waiting or busy would mean it acted without the Lease.
      const outcome = await eventually(
        'a step that needs the Lease',
        async () => {
          const o = await advance(deps, ref, { log });
          return o === 'waiting' ? undefined : o;
        },
        120_000,
        1000,
      );
      expect(outcome, 'a step while another instance holds the cluster').to.equal('busy');
      expect((await pods()).find((p) => p.metadata?.name === replica)?.metadata?.uid, 'the flagged replica is untouched').to.equal(
        replicaUid,
      );
    } finally {
      await s.core.patchNamespacedPod(
        { namespace: s.namespace, name: replica, body: { metadata: { annotations: { [ROLLING_UPDATE_REQUIRED_ANNOTATION]: null } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      letGo();
      await holding;
    }
    expect((await pods()).find((p) => p.metadata?.name === replica)?.metadata?.uid).to.equal(replicaUid);
  });

  it('stops when a recreated replica never becomes healthy, leaving the master untouched, and says why', async () => {
    for (const a of s.pipeline.adapters) await a.restart();
    const before = await waitForRoles(s.kc, s.namespace, NAME, 2);
    const masterUid = (await pods()).find((p) => p.metadata?.name === before.master.name)?.metadata?.uid;
    const eventsBefore = (await ourEvents()).length;
    await s.edit(NAME, (spec) => ({ ...spec, dockerImage: 'ghcr.io/zalando/spilo-15:3.0-p4' }));
    const victim = await eventually(
      'the first replica recreated',
      async () => {
        const e = (await ourEvents()).slice(eventsBefore).find((x) => x.reason === 'RecreatingPod');
        const name = /recreating replica (\S+):/.exec(e?.message ?? '')?.[1];
        if (name === undefined) return undefined;
        const pod = (await pods()).find((p) => p.metadata?.name === name && p.spec?.containers[0]?.image?.endsWith('3.0-p4'));
        return pod?.status?.phase === 'Running' ? name : undefined;
      },
      120_000,
      200,
    );
    // Its Patroni dies and stays dead (the node agent holds the restart back).
    s.agent.agent.crash(s.namespace, victim, { holdMs: 3_600_000 });
    // An idle cluster's pods change no more; the periodic check notices the timeout.
    const failed = await eventually(
      'RollingUpdate Failed',
      async () => {
        s.pipeline.pings.fire('pgfn-rolling-update-check');
        const c = condition(await s.read(NAME), 'RollingUpdate');
        return c?.reason === 'Failed' ? c : undefined;
      },
      (POD_TIMEOUT_SECONDS + 120) * 1000,
      3000,
    );
    expect(failed?.message).to.include(`pod ${victim}`);
    const warning = (await ourEvents()).slice(eventsBefore).find((e) => e.reason === 'RollingUpdateFailed');
    expect(warning?.type).to.equal('Warning');
    expect(warning?.message).to.include(victim);
    const now = await pods();
    // On a failure, say what rolling-update did meanwhile (a Patroni failover under load would show here).
    const story = (await ourEvents())
      .slice(eventsBefore)
      .map((e) => `${e.reason}: ${e.message}`)
      .join('\n');
    expect(now.find((p) => p.metadata?.name === before.master.name)?.metadata?.uid, `the master pod; events:\n${story}`).to.equal(
      masterUid,
    );
    expect(now.find((p) => p.metadata?.name === before.master.name)?.metadata?.labels?.['spilo-role']).to.equal('master');
    const recreations = (await ourEvents()).slice(eventsBefore).filter((e) => ['RecreatingPod', 'Switchover'].includes(e.reason ?? ''));
    expect(recreations.map((e) => e.reason)).to.deep.equal(['RecreatingPod']);
  });
});
