import { ControlPlane } from '@pgfn/controlplane';
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { startNodeAgent } from '@pgfn/node-agent';
import { applySpiloCluster, clusterMembers } from '@pgfn/node-agent/testing';
import { rmSync } from 'node:fs';

rmSync('/tmp/na-smoke', { recursive: true, force: true });
const cp = await ControlPlane.start({ dir: '/tmp/na-smoke/cp', removeOnStop: false });
console.log('cp up', cp.state.server);
const kc = new KubeConfig(); kc.loadFromFile(cp.kubeconfig);
const agent = await startNodeAgent({ kubeconfig: cp.kubeconfig, dataDir: '/tmp/na-smoke/data', logDir: '/tmp/na-smoke/logs', probePeriodCapSeconds: 2, log: (l) => console.log('[agent]', l) });
try {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'smoke' } } });
  const cluster = await applySpiloCluster(kc, { namespace: 'smoke', instances: Number(process.env.N ?? 1), patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 } });
  for (let i = 0; i < Number(process.env.T ?? 60); i++) {
    await new Promise((r) => setTimeout(r, 2000));
    console.log(JSON.stringify(await clusterMembers(kc, 'smoke', cluster.name)));
  }
} finally {
  if (process.env.KEEP !== '1') { await agent.stop(); await cp.stop(); }
}
