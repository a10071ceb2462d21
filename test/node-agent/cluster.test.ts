// A real Spilo cluster on the node agent: Patroni 3 and PostgreSQL 15 from Debian, Kubernetes DCS on
// the test control plane, objects built by @pgfn/builder. The tests run in order on one cluster:
// bootstrap, graceful failover, crash failover, crash with an immediate restart, volumes, agent stop.
// The cluster runs `synchronous_mode: true`, the condition under which a crashed master loses no
// acknowledged write: with asynchronous replication a crash loses whatever the replicas had not yet
// received (up to Patroni's maximum_lag_on_failover), which a loaded machine showed (62 rows).
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applySpiloCluster, clusterMembers, FailoverWriter, type SpiloCluster } from '@pgfn/node-agent/testing';
import { agentNodeLabels, NODE_AGENT_LABEL } from '@pgfn/node-agent';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { connect, processesLeftIn, sandboxesOf, sleep, startTestAgent, waitForRoles, type TestAgent } from './support.js';

// Tuned Patroni timings keep failovers short (DESIGN.md §3): ttl 10, loop_wait 2, retry_timeout 4.
const TUNED = { ttl: 10, loop_wait: 2, retry_timeout: 4 };
const SYNCHRONOUS = { ...TUNED, synchronous_mode: true };

describe('node agent: a 3-instance synchronous_mode Spilo cluster with real Patroni and PostgreSQL', function () {
  this.timeout(600_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;
  let cluster: SpiloCluster;
  let password: string;

  before(async () => {
    kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ns = await createNamespace(kc, 'na-ha');
    t = await startTestAgent();
    cluster = await applySpiloCluster(kc, { namespace: ns.name, instances: 3, patroni: SYNCHRONOUS });
    password = cluster.password('postgres');
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  const host = (): string => `${cluster.name}.${ns.name}.svc`;

  /** Every acknowledged row is on the master `ip`, and on the replica `replicaIp` once it caught up. */
  async function expectNoLostRows(writer: FailoverWriter, masterIp: string): Promise<void> {
    const client = await connect(masterIp, password);
    try {
      expect(await writer.missing(client), 'acknowledged rows missing on the new master').to.deep.equal([]);
    } finally {
      await client.end();
    }
  }

  it('bootstraps one master and two streaming replicas, labelled by Patroni itself, on the agent node', async () => {
    const { master, replicas } = await waitForRoles(kc, ns.name, cluster.name, 2);
    const client = await connect(master.ip ?? '', password);
    try {
      const rows = await eventually(
        'two streaming replicas in pg_stat_replication, one of them synchronous',
        async () => {
          const r = await client.query<{ application_name: string; state: string; sync_state: string }>(
            'SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY 1',
          );
          const synchronous = r.rows.filter((x) => x.sync_state === 'sync').length;
          return r.rows.length === 2 && r.rows.every((x) => x.state === 'streaming') && synchronous === 1 ? r.rows : undefined;
        },
        60_000,
      );
      expect(rows.map((r) => r.application_name)).to.deep.equal(replicas.map((r) => r.name).sort());
      expect((await client.query('SELECT pg_is_in_recovery() AS r')).rows[0]).to.deep.equal({ r: false });
    } finally {
      await client.end();
    }
    const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `cluster-name=${cluster.name}` })).items;
    for (const pod of pods) {
      expect(pod.spec?.nodeName).to.equal(t.agent.nodeName);
      // Patroni writes its member record and the role label itself; the agent never touches metadata.
      expect(pod.metadata?.annotations?.['status']).to.match(/"role":"(master|replica)"/);
      const roleManagers = (pod.metadata?.managedFields ?? [])
        .filter((f) => JSON.stringify(f.fieldsV1 ?? {}).includes('"f:spilo-role"'))
        .map((f) => f.manager);
      expect(roleManagers.join(','), `manager of spilo-role on ${pod.metadata?.name}`).to.match(/^Patroni/);
    }
    const node = await core.readNode({ name: t.agent.nodeName });
    expect(node.metadata?.labels?.[NODE_AGENT_LABEL]).to.equal('true');
    // In a parallel run, also this worker's group, which its clusters select (ADR 0145).
    expect(node.metadata?.labels).to.include(agentNodeLabels());
    expect(node.metadata?.annotations ?? {}).to.not.have.key('kwok.x-k8s.io/node');
  });

  it('resolves the master Service to the master and the -repl Service to the replicas', async () => {
    // Pods have loopback addresses, which the API server refuses in EndpointSlices and Endpoints, so
    // the Services' endpoints stay empty; the resolver selects the Services' pods itself. The intent
    // is unchanged: the Services follow the role labels Patroni sets.
    const { master, replicas } = await waitForRoles(kc, ns.name, cluster.name, 2);
    await eventually(
      'Services to follow the roles',
      async () => {
        const masterIps = await t.agent.resolver.resolve(host());
        const replIps = (await t.agent.resolver.resolve(`${cluster.name}-repl.${ns.name}.svc.cluster.local`)).sort();
        return masterIps.join() === master.ip &&
          replIps.join() ===
            replicas
              .map((r) => r.ip)
              .sort()
              .join()
          ? true
          : undefined;
      },
      60_000,
    );
  });

  it('fails over when the master pod is deleted, without losing an acknowledged write, and the pod returns as a replica', async () => {
    const before = await waitForRoles(kc, ns.name, cluster.name, 2);
    const writer = new FailoverWriter({ resolver: t.agent.resolver, host: host(), user: 'postgres', password });
    await writer.start();
    try {
      await sleep(2000);
      const deletedAt = Date.now();
      const ackedBefore = writer.acks.length;
      await core.deleteNamespacedPod({ name: before.master.name, namespace: ns.name });
      const after = await waitForRoles(kc, ns.name, cluster.name, { replicas: 1, timeoutMs: 120_000, not: before.master.name });
      await eventually(
        'writes acknowledged by the new master',
        () => Promise.resolve(writer.acks.some((a) => a.at > deletedAt && a.server === after.master.ip) ? true : undefined),
        60_000,
      );
      const back = await waitForRoles(kc, ns.name, cluster.name, { replicas: 2, timeoutMs: 180_000 });
      const returned = back.replicas.find((r) => r.name === before.master.name);
      expect(returned, `${before.master.name} back as a replica`).to.not.equal(undefined);
      expect(returned?.uid).to.not.equal(before.master.uid);
      await sleep(1000);
      await writer.stop();
      console.log(
        `      graceful failover: writes stopped for ${writer.maxGapMs(deletedAt)} ms; ` +
          `${writer.acks.length} rows acknowledged, ${writer.errors} failed attempts`,
      );
      expect(writer.acks.length).to.be.greaterThan(ackedBefore);
      await expectNoLostRows(writer, back.master.ip ?? '');
      // The returned pod kept its volume: it holds the rows written before it was deleted.
      const replica = await connect(returned?.ip ?? '', password);
      try {
        await eventually(
          'the returned replica to hold every acknowledged row',
          async () => ((await writer.missing(replica)).length === 0 ? true : undefined),
          60_000,
        );
      } finally {
        await replica.end();
      }
    } finally {
      await writer.stop();
    }
  });

  it('fails over when the master crashes (SIGKILL to its whole sandbox) and stays down, without losing an acknowledged write', async () => {
    const before = await waitForRoles(kc, ns.name, cluster.name, 2);
    const writer = new FailoverWriter({ resolver: t.agent.resolver, host: host(), user: 'postgres', password, table: 'crash_probe' });
    await writer.start();
    try {
      await sleep(2000);
      const crashedAt = Date.now();
      // Held down past the leader lock's ttl, as a node failure would, until a replica has taken over and
      // acknowledges writes; then the node is back (released at once, not after a guessed time).
      expect(t.agent.crash(ns.name, before.master.name, { holdMs: 300_000 })).to.equal(1);
      try {
        const after = await waitForRoles(kc, ns.name, cluster.name, { replicas: 1, timeoutMs: 120_000, not: before.master.name });
        await eventually(
          'writes acknowledged by the new master',
          () => Promise.resolve(writer.acks.some((a) => a.at > crashedAt && a.server === after.master.ip) ? true : undefined),
          60_000,
        );
      } finally {
        t.agent.release(ns.name, before.master.name);
      }
      const back = await waitForRoles(kc, ns.name, cluster.name, { replicas: 2, timeoutMs: 180_000 });
      const returned = back.replicas.find((r) => r.name === before.master.name);
      expect(returned?.uid, 'the same pod, restarted in place').to.equal(before.master.uid);
      expect(returned?.restarts).to.equal(before.master.restarts + 1);
      await writer.stop();
      console.log(`      crash failover: writes stopped for ${writer.maxGapMs(crashedAt)} ms; ${writer.acks.length} rows acknowledged`);
      await expectNoLostRows(writer, back.master.ip ?? '');
    } finally {
      await writer.stop();
    }
  });

  it('keeps every acknowledged write when a crashed master restarts at once (as kubelet restarts a crashed container)', async () => {
    const before = await waitForRoles(kc, ns.name, cluster.name, 2);
    const writer = new FailoverWriter({ resolver: t.agent.resolver, host: host(), user: 'postgres', password, table: 'restart_probe' });
    await writer.start();
    try {
      await sleep(2000);
      const crashedAt = Date.now();
      t.agent.crash(ns.name, before.master.name);
      const after = await waitForRoles(kc, ns.name, cluster.name, { replicas: 2, timeoutMs: 180_000 });
      await eventually(
        'writes acknowledged after the crash',
        () => Promise.resolve(writer.acks.some((a) => a.at > crashedAt + 500 && a.server === after.master.ip) ? true : undefined),
        90_000,
      );
      await writer.stop();
      const where = after.master.name === before.master.name ? 'kept' : `moved to ${after.master.name}`;
      console.log(`      crash with immediate restart: master ${where}; writes stopped for ${writer.maxGapMs(crashedAt)} ms`);
      await expectNoLostRows(writer, after.master.ip ?? '');
    } finally {
      await writer.stop();
    }
  });

  it('stops deleted Spilo pods on SIGTERM well within their 300 s grace period: Patroni exits 0, no SIGKILL', async () => {
    const before = await waitForRoles(kc, ns.name, cluster.name, 2);
    const victims = [before.master, before.replicas[0]].map((m) => ({ name: m?.name ?? '', uid: m?.uid ?? '' }));
    await Promise.all(victims.map((v) => core.deleteNamespacedPod({ name: v.name, namespace: ns.name })));
    for (const v of victims) {
      // A pod that ignored SIGTERM would stay until the kubelet stand-in's SIGKILL at 300 s (ADR 0095).
      await eventually(
        `${v.name} (${v.uid}) gone`,
        async () => {
          const pod = await core.readNamespacedPod({ name: v.name, namespace: ns.name }).catch(() => undefined);
          return pod?.metadata?.uid === v.uid ? undefined : true;
        },
        150_000,
      );
      const events = readFileSync(join(t.logDir, `${ns.name}_${v.name}`, 'events.log'), 'utf8').split('\n');
      const stop = events.findLastIndex((l) => l.includes('terminating with a grace period of 300 s'));
      expect(stop, `${v.name}: terminated with the StatefulSet's grace period`).to.be.greaterThan(-1);
      const exit = events.slice(stop).find((l) => l.includes('container postgres exited'));
      expect(exit, `${v.name}: how Patroni ended`).to.match(/container postgres exited with 0$/);
    }
    await waitForRoles(kc, ns.name, cluster.name, { replicas: 2, timeoutMs: 240_000 });
  });

  it('keeps data directories per claim and removes them with the claim', async () => {
    const claim = `pgdata-${cluster.name}-0`;
    const dir = `${t.dataDir}/${ns.name}/${claim}`;
    expect(existsSync(`${dir}/pgroot/data/PG_VERSION`)).to.equal(true);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await apps.deleteNamespacedStatefulSet({ name: cluster.name, namespace: ns.name });
    await eventually(
      'the pods to be gone',
      async () => ((await clusterMembers(kc, ns.name, cluster.name)).length === 0 ? true : undefined),
      120_000,
    );
    await core.deleteCollectionNamespacedPersistentVolumeClaim({ namespace: ns.name });
    await eventually(`${dir} to be removed with its claim`, () => Promise.resolve(existsSync(dir) ? undefined : true), 60_000);
  });

  it('leaves no postgres, patroni or pgbouncer process behind when the agent stops', async () => {
    cluster = await applySpiloCluster(kc, { namespace: ns.name, name: 'acid-again', instances: 2, patroni: TUNED });
    await waitForRoles(kc, ns.name, cluster.name, 1);
    const sandboxes = sandboxesOf(t.agent.processGroups());
    expect(sandboxes).to.have.length(2);
    expect(processesLeftIn(sandboxes).join('\n'))
      .to.match(/patroni/)
      .and.to.match(/postgres/);
    await t.stop();
    expect(processesLeftIn(sandboxes)).to.deep.equal([]);
  });
});
