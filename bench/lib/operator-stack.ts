// The control plane as the real-Patroni benches need it before the operator runs: pgfn's CRDs, the
// namespaces, an OperatorConfiguration (the example one, with pods only on node-agent nodes) and the
// ClusterRole Spilo pods run with.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import { repoRoot, type ControlPlane } from '@pgfn/controlplane';

export async function prepareOperatorControlPlane(o: {
  readonly cp: ControlPlane;
  readonly kc: k8s.KubeConfig;
  /** The namespace the bench's clusters live in. */
  readonly namespace: string;
  /** Settings of the configuration's `kubernetes` section beyond the example's and the node readiness label. */
  readonly kubernetes?: Record<string, unknown>;
}): Promise<void> {
  const { cp, kc } = o;
  for (const f of readdirSync(join(repoRoot, 'crds')).filter((x) => x.endsWith('.crd.yaml')))
    await cp.kubectl(['apply', '--server-side', '--field-manager=pgfn', '-f', join(repoRoot, 'crds', f)]);
  await cp.waitForCrds(['postgresqls.acid.zalan.do', 'operatorconfigurations.acid.zalan.do', 'postgresteams.acid.zalan.do']);
  await cp.kubectl(['create', 'namespace', 'pgfn-system']).catch(() => '');
  await cp.kubectl(['create', 'namespace', o.namespace]);
  const doc = parse(readFileSync(join(repoRoot, 'crds/examples/operatorconfiguration.yaml'), 'utf8')) as {
    configuration: Record<string, unknown>;
  };
  const kubernetes = {
    ...(doc.configuration['kubernetes'] as Record<string, unknown>),
    node_readiness_label: { 'pgfn.dev/node-agent': 'true' },
    ...o.kubernetes,
  };
  const configuration = { ...doc.configuration, kubernetes };
  await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
    group: 'acid.zalan.do',
    version: 'v1',
    plural: 'operatorconfigurations',
    namespace: 'pgfn-system',
    body: { apiVersion: 'acid.zalan.do/v1', kind: 'OperatorConfiguration', metadata: { name: 'bench' }, configuration },
  });
  await cp.kubectl(['apply', '--server-side', '--field-manager=kubectl', '-f', join(repoRoot, 'knative/functions/postgres-pod.yaml')]);
}
