// Masters moved off nodes that go away (issue 24, ADR 0076), end to end on real Patroni: the whole local
// stack on 4 local nodes in 2 zones (ADR 0075), reconcile + rolling-update as their own ServiceAccounts,
// Node events from the real receive adapter. A cordon, a lost readiness label and a `kubectl drain`
// each move the master with one switchover to a replica on a node that stays, and recreate the replica
// left on the node elsewhere (its local volume with it); a NoExecute taint the configured toleration
// covers moves nothing (ADR 0096). Run under `flock /tmp/pgfn-realpg.lock`.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { binaries, kubectlRun } from '@pgfn/controlplane';
import { agentNodeLabels } from '@pgfn/node-agent';
import { FailoverWriter } from '@pgfn/node-agent/testing';
import { connect, waitForRoles } from '../node-agent/support.js';
import { testEnv } from '../support/env.js';
import { eventually } from '../support/kube.js';
import { manifest, PG, startStack, type Cluster, type Stack } from '../e2e/stack.js';

const NAME = 'acid-nodes';
const TOLERATED = { key: 'pgfn.dev/maintenance', value: 'planned', effect: 'NoExecute' };
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('rolling-update: masters move off nodes that go away (4 local nodes, real Patroni)', function () {
  this.timeout(900_000);
  let s: Stack;

  before(async () => {
    s = await startStack({
      prefix: 'nodes',
      nodes: { count: 4, zones: 2 },
      schedulePings: true,
      // `configuration` replaces whole sections: the readiness label the stack sets is given again.
      // The configured toleration (upstream's `toleration`) reaches the pods: that NoExecute taint is no reason to move.
      configuration: {
        kubernetes: {
          enable_pod_antiaffinity: true,
          node_readiness_label: agentNodeLabels(),
          toleration: { key: TOLERATED.key, operator: 'Exists', effect: 'NoExecute' },
        },
      },
      functions: { reconcile: {}, 'rolling-update': { POD_TIMEOUT_SECONDS: '120' } },
    });
    const body = manifest(s.namespace, NAME, {
      numberOfInstances: 3,
      volume: { size: '1Gi', storageClass: 'pgfn-local' },
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
    });
    await s.custom.createNamespacedCustomObject({ ...PG, namespace: s.namespace, body });
    await waitForRoles(s.kc, s.namespace, NAME, { replicas: 2, timeoutMs: 300_000 });
  });
  after(async () => {
    await s?.stop();
  });

  const pods = async (): Promise<k8s.V1Pod[]> =>
    (await s.core.listNamespacedPod({ namespace: s.namespace, labelSelector: `application=spilo,cluster-name=${NAME}` })).items;
  const nodeOf = async (pod: string): Promise<string> => (await pods()).find((p) => p.metadata?.name === pod)?.spec?.nodeName ?? '';
  const ourEvents = async (reason: string): Promise<k8s.CoreV1Event[]> =>
    (await s.core.listNamespacedEvent({ namespace: s.namespace })).items.filter(
      (e) => e.source?.component === 'pgfn-rolling-update' && e.involvedObject.name === NAME && e.reason === reason,
    );
  const condition = (c: Cluster | undefined): { status?: string; reason?: string; message?: string } | undefined =>
    c?.status?.conditions?.find((x) => x.type === 'NodeMigration');

  /**
   * NodeMigration False. Once pods stop changing, only the periodic rolling-update check (a PingSource
   * every minute, also scheduled here) looks again: it is fired at once instead of at the next minute.
   */
  const migrationOver = (): Promise<{ status?: string; reason?: string; message?: string }> =>
    eventually(
      'NodeMigration False',
      async () => {
        const c = condition(await s.read(NAME));
        if (c?.status === 'False') return c;
        s.pipeline.pings.fire('pgfn-rolling-update-check');
        return undefined;
      },
      180_000,
      2000,
    );

  /** One master and two ready replicas, none on `node`, on three distinct nodes. */
  const settledOff = async (node: string, oldMaster: string): Promise<true | undefined> => {
    const all = await pods();
    const placed = all.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true);
    const nodes = new Set(placed.map((p) => p.spec?.nodeName));
    const master = all.find((p) => p.metadata?.labels?.['spilo-role'] === 'master');
    const ok = placed.length === 3 && nodes.size === 3 && !nodes.has(node) && master !== undefined && master.metadata?.name !== oldMaster;
    return ok ? true : undefined;
  };

  /** Runs `leave` on the master's node; checks one switchover, no lost row, the replica moved; restores the node. */
  async function moveOff(what: string, leave: (node: string) => Promise<void>, restore: (node: string) => Promise<void>): Promise<number> {
    const before = await waitForRoles(s.kc, s.namespace, NAME, 2);
    const node = await nodeOf(before.master.name);
    const password = await s.password(NAME, 'postgres');
    // A table per case: a second writer counting from 1 into the first one's table would only hit its keys.
    const table = `probe_${what.replace(/\W+/g, '_')}`;
    const writer = new FailoverWriter({
      resolver: s.agent.agent.resolver,
      host: `${NAME}.${s.namespace}.svc`,
      user: 'postgres',
      password,
      table,
    });
    await writer.start();
    const started = Date.now();
    const switchovers = (await ourEvents('MasterMigration')).length;
    // Rows acknowledged by the old master and by the new one: the writer really writes across the move.
    await eventually('a row acknowledged by the old master', () => Promise.resolve(writer.acks.length > 0 ? true : undefined), 30_000, 100);
    await leave(node);
    try {
      let after: Awaited<ReturnType<typeof waitForRoles>>;
      try {
        await eventually(`${what}: the cluster settled off ${node}`, () => settledOff(node, before.master.name), 600_000, 1000);
        after = await waitForRoles(s.kc, s.namespace, NAME, 2);
        // The pods can settle before the writer's next connection reaches the new master (the Service
        // follows Patroni's leader, a reconnect may time out once): wait for its row rather than race it.
        const newMaster = after.master.ip;
        await eventually(
          `a row acknowledged by the new master ${after.master.name} (${newMaster})`,
          () => {
            if (writer.acks.some((a) => a.server === newMaster)) return Promise.resolve(true);
            throw new Error(writer.describe()); // the timeout's message says what the writer met
          },
          60_000,
          200,
        );
      } finally {
        await writer.stop();
      }
      expect(await nodeOf(after.master.name)).to.not.equal(node);
      expect(new Set(writer.acks.map((a) => a.server)).size, 'masters that acknowledged rows').to.be.greaterThan(1);
      expect((await ourEvents('MasterMigration')).length - switchovers, 'one switchover').to.equal(1);
      const client = await connect(after.master.ip ?? '', password);
      try {
        expect(await writer.missing(client), 'acknowledged rows missing').to.deep.equal([]);
      } finally {
        await client.end();
      }
      const moved = (await ourEvents('ReplicaMigration')).map((e) => e.message ?? '');
      expect(moved.some((m) => m.includes(before.master.name) && m.includes(node))).to.equal(true);
      // Status says it is over once nothing runs there any more.
      const done = await migrationOver();
      expect(done.reason).to.equal('NoNodeLeaving');
    } finally {
      // Every case needs every node, whatever happened here.
      await restore(node);
    }
    const gap = writer.maxGapMs(started);
    console.log(`      ${what}: settled in ${((Date.now() - started) / 1000).toFixed(1)} s, longest write gap ${gap} ms`);
    return gap;
  }

  it('spreads the three pods over three of the four nodes', async () => {
    const all = await pods();
    expect(new Set(all.map((p) => p.spec?.nodeName)).size).to.equal(3);
    const nodes = new Set(s.nodes?.nodes.agents.map((a) => a.nodeName));
    for (const p of all) expect(nodes.has(p.spec?.nodeName ?? '')).to.equal(true);
  });

  it('a cordoned master node: one switchover to another node, the old master recreated on the free node', async () => {
    await moveOff(
      'cordon',
      (node) => s.core.patchNode({ name: node, body: { spec: { unschedulable: true } } }, merge).then(() => undefined),
      (node) => s.core.patchNode({ name: node, body: { spec: { unschedulable: null } } }, merge).then(() => undefined),
    );
  });

  it('the readiness label removed from the master node: the master moves', async () => {
    const label = (value: string | null) => (node: string) =>
      s.core.patchNode({ name: node, body: { metadata: { labels: { 'pgfn.dev/node-agent': value } } } }, merge).then(() => undefined);
    await moveOff('readiness label removed', label(null), label('true'));
  });

  it('a NoExecute taint the pods tolerate (configured toleration) moves nothing; a cordon beside it moves only its replica', async () => {
    const before = await waitForRoles(s.kc, s.namespace, NAME, 2);
    const masterNode = await nodeOf(before.master.name);
    const replica = before.replicas[0];
    if (replica === undefined) throw new Error('no replica');
    const replicaNode = await nodeOf(replica.name);
    const master = (await pods()).find((p) => p.metadata?.name === before.master.name);
    expect(master?.spec?.tolerations, 'the configured toleration on the Spilo pod').to.deep.include({
      key: TOLERATED.key,
      operator: 'Exists',
      effect: 'NoExecute',
    });
    const switchovers = (await ourEvents('MasterMigration')).length;
    const taints = (await s.core.readNode({ name: masterNode })).spec?.taints ?? [];
    const setTaints = (list: k8s.V1Taint[]) => s.core.patchNode({ name: masterNode, body: { spec: { taints: list } } }, merge);
    const cordon = (value: boolean | null) => s.core.patchNode({ name: replicaNode, body: { spec: { unschedulable: value } } }, merge);
    await setTaints([...taints, TOLERATED]);
    try {
      // The cordon is the signal that rolling-update looked: it moves masters before replicas (ADR 0076), so once
      // the cordoned node's replica runs elsewhere, a master on a node it counted as going away would have moved.
      await cordon(true);
      await eventually(
        `${replica.name} recreated off ${replicaNode}`,
        async () => {
          const all = await pods();
          const ready = all.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true);
          const moved = all.find((p) => p.metadata?.name === replica.name);
          const ok = ready.length === 3 && moved?.metadata?.uid !== replica.uid && moved?.spec?.nodeName !== replicaNode;
          return ok ? true : undefined;
        },
        600_000,
        1000,
      );
      const done = await migrationOver();
      expect(done.reason).to.equal('NoNodeLeaving');
      const after = await waitForRoles(s.kc, s.namespace, NAME, 2);
      expect(after.master.uid, 'the master pod stayed').to.equal(before.master.uid);
      expect(await nodeOf(after.master.name)).to.equal(masterNode);
      expect((await ourEvents('MasterMigration')).length, 'no switchover').to.equal(switchovers);
    } finally {
      await setTaints(taints);
      await cordon(null);
    }
  });

  it('kubectl drain of the master node respecting the PDB completes, with one switchover', async () => {
    const pdb = await s.kc
      .makeApiClient(k8s.PolicyV1Api)
      .readNamespacedPodDisruptionBudget({ namespace: s.namespace, name: `postgres-${NAME}-pdb` });
    expect(pdb.spec?.minAvailable).to.equal(1);
    await moveOff(
      'kubectl drain',
      async (node) => {
        await kubectlRun(binaries().kubectl, testEnv().kubeconfig, [
          'drain',
          node,
          '--ignore-daemonsets',
          '--delete-emptydir-data',
          '--timeout=600s',
        ]);
      },
      (node) => s.core.patchNode({ name: node, body: { spec: { unschedulable: null } } }, merge).then(() => undefined),
    );
  });
});
