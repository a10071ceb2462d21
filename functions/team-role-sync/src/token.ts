// The Teams API token, from the Secret named by oauth_token_secret_name: keys read-only-token-type
// (must be "Bearer") and read-only-token-secret (upstream pkg/cluster/util.go, getOAuthToken).
// A name without a namespace means the operator's namespace (upstream NamespacedName.Decode).
import type { V1Secret } from '@kubernetes/client-node';
import type { NamespacedName } from '@pgfn/api';
import type { KubeClient } from '@pgfn/kube';
import { TeamsApiError } from './teams-api.js';

export const TOKEN_TYPE_KEY = 'read-only-token-type';
export const TOKEN_SECRET_KEY = 'read-only-token-secret';

export async function readTeamsApiToken(kube: KubeClient, ref: NamespacedName, operatorNamespace: string): Promise<string> {
  const namespace = ref.namespace || operatorNamespace;
  const where = `Secret ${namespace}/${ref.name} (oauth_token_secret_name)`;
  let secret: V1Secret | undefined;
  try {
    secret = await kube.get<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace, name: ref.name });
  } catch (err) {
    throw new TeamsApiError(`cannot read the Teams API token from ${where}: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (secret === undefined) throw new TeamsApiError(`the Teams API token ${where} does not exist`, undefined);
  const type = decode(secret.data?.[TOKEN_TYPE_KEY]);
  if (type !== 'Bearer')
    throw new TeamsApiError(`${where}: ${TOKEN_TYPE_KEY} is ${JSON.stringify(type ?? null)}, expected "Bearer"`, undefined);
  const token = decode(secret.data?.[TOKEN_SECRET_KEY]);
  if (token === undefined || token === '') throw new TeamsApiError(`${where} has no ${TOKEN_SECRET_KEY}`, undefined);
  return token;
}

function decode(value: string | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}
