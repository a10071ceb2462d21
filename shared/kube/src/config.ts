import { KubeConfig } from '@kubernetes/client-node';

/** $KUBECONFIG when set (local runs, tests), else the in-cluster service account. */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  const file = env['KUBECONFIG'];
  if (file !== undefined && file !== '') kc.loadFromFile(file);
  else kc.loadFromCluster();
  return kc;
}
