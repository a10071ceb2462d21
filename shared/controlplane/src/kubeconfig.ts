import { readFileSync } from 'node:fs';

/** How a kubeconfig's user authenticates: a client certificate and key (files), or a bearer token. */
export type KubeconfigAuth = { readonly cert: string; readonly key: string } | { readonly token: string };

/**
 * A kubeconfig with one cluster, user and context, all called `name`, with the CA and any client
 * certificate inlined so the file stands alone.
 */
export function kubeconfigYaml(server: string, caCert: string, auth: KubeconfigAuth, name = 'pgfn'): string {
  const b64 = (file: string): string => readFileSync(file).toString('base64');
  const user =
    'token' in auth ? `    token: ${auth.token}` : `    client-certificate-data: ${b64(auth.cert)}\n    client-key-data: ${b64(auth.key)}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caCert)}`,
    'users:',
    `- name: ${name}`,
    '  user:',
    user,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}`,
    `current-context: ${name}`,
    '',
  ].join('\n');
}
