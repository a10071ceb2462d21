// Pod errors the node agent reports the way kubelet does: a configuration the agent cannot run is a
// waiting container with reason CreateContainerConfigError and a sentence that says what to fix.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { applySpiloCluster } from '@pgfn/node-agent/testing';
import { agentNodeLabels } from '@pgfn/node-agent';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { startTestAgent, type TestAgent } from './support.js';

describe('node agent: pod errors', function () {
  this.timeout(300_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;

  before(async () => {
    kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ns = await createNamespace(kc, 'na-err');
    t = await startTestAgent('pgfn-agent-errors');
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  const waiting = (pod: string): Promise<k8s.V1ContainerStateWaiting> =>
    eventually(
      `a waiting reason on ${pod}`,
      async () => {
        const p = await core.readNamespacedPod({ name: pod, namespace: ns.name });
        const w = p.status?.containerStatuses?.[0]?.state?.waiting;
        return w?.reason === 'CreateContainerConfigError' ? w : undefined;
      },
      120_000,
      500,
    );

  it('refuses a PostgreSQL major this machine lacks instead of running another one', async () => {
    // The builder refuses majors upstream does not support; a pod of one's own can still ask for 13.
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'wants-thirteen' },
        spec: {
          nodeSelector: agentNodeLabels(),
          containers: [
            {
              name: 'postgres',
              image: 'ghcr.io/zalando/spilo-15:3.0-p1',
              env: [
                { name: 'PGVERSION', value: '13' },
                { name: 'DCS_ENABLE_KUBERNETES_API', value: 'true' },
              ],
            },
          ],
        },
      },
    });
    const w = await waiting('wants-thirteen');
    expect(w.message).to.equal(
      'PGVERSION=13 asks for PostgreSQL 13, which is not installed on this node ' +
        '(installed: 14, 15, 16, 17, 18; hack/setup.sh installs them)',
    );
  });

  it('refuses a preload library the major lacks, naming the major that has it', async () => {
    await applySpiloCluster(kc, {
      namespace: ns.name,
      name: 'acid-partman',
      instances: 1,
      version: '17',
      parameters: { shared_preload_libraries: 'pg_stat_statements,pg_partman_bgw' },
    });
    const w = await waiting('acid-partman-0');
    expect(w.message).to.equal(
      'shared_preload_libraries asks for pg_partman_bgw, which PostgreSQL 17 on this node does not have (PostgreSQL 15 has it)',
    );
  });

  it('names a missing Secret the pod environment refers to', async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'needs-secret' },
        spec: {
          nodeSelector: agentNodeLabels(),
          containers: [
            {
              name: 'postgres',
              image: 'ghcr.io/zalando/spilo-15:3.0-p1',
              env: [{ name: 'PGPASSWORD_SUPERUSER', valueFrom: { secretKeyRef: { name: 'absent', key: 'password' } } }],
            },
          ],
        },
      },
    });
    const w = await waiting('needs-secret');
    expect(w.message).to.equal('secret "absent" not found');
  });

  it('simulates containers it does not run, like kwok, so sidecars do not block a pod', async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'sidecar-only' },
        spec: { nodeSelector: agentNodeLabels(), containers: [{ name: 'exporter', image: 'example.invalid/exporter:1' }] },
      },
    });
    const pod = await eventually(
      'the simulated pod to be Running and Ready',
      async () => {
        const p = await core.readNamespacedPod({ name: 'sidecar-only', namespace: ns.name });
        return p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
      },
      60_000,
      500,
    );
    expect(pod.status?.containerStatuses?.[0]?.imageID).to.equal('pgfn://simulated');
    // A loopback address of the agent's range (the node keeps the first one): traffic stays on this host.
    expect(pod.status?.podIP)
      .to.match(/^127\./)
      .and.not.equal('127.0.0.1')
      .and.not.equal(t.agent.nodeIP);
  });
});
