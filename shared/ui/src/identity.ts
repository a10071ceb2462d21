// Writes act as the user, never as the UI (ADR 0041). Two ways, chosen by PGFN_UI_WRITE_IDENTITY:
// - token: the user's own bearer token, forwarded by the authenticating proxy in front of the UI
//   (Authorization: Bearer or X-Forwarded-Access-Token); the UI's ServiceAccount is not used at all.
// - impersonate: the proxy's X-Forwarded-User, if it is in the allow-list; the request goes out with
//   the UI's credentials and Impersonate-User, which its ClusterRole grants for those users only.
// Without either, a write is refused: never anonymous, never the UI's own rights.
import type { IncomingHttpHeaders } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

export type WriteIdentityMode = { readonly mode: 'token' } | { readonly mode: 'impersonate'; readonly allow: readonly string[] };

export function writeIdentityFromEnv(env: NodeJS.ProcessEnv): WriteIdentityMode {
  const mode = env['PGFN_UI_WRITE_IDENTITY'] ?? 'token';
  if (mode === 'token') return { mode };
  if (mode === 'impersonate') {
    const allow = (env['PGFN_UI_IMPERSONATE_ALLOW'] ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '');
    return { mode, allow };
  }
  throw new Error(`PGFN_UI_WRITE_IDENTITY must be token or impersonate, not ${mode}`);
}

export type UserConfig = { readonly kc: KubeConfig; readonly who: string } | { readonly refused: string };

/** A kubeconfig that acts as the requesting user, made from the UI's own (for the server and CA). */
export function userKubeConfig(base: KubeConfig, mode: WriteIdentityMode, headers: IncomingHttpHeaders): UserConfig {
  const cluster = base.getCurrentCluster();
  if (cluster === null) return { refused: 'the UI has no cluster configured' };
  if (mode.mode === 'token') {
    const bearer = /^Bearer\s+(\S+)$/i.exec(header(headers, 'authorization') ?? '')?.[1];
    const token = bearer ?? header(headers, 'x-forwarded-access-token');
    if (token === undefined || token === '') return { refused: 'no user token was forwarded: sign in through the authenticating proxy' };
    return { kc: configFor(cluster, { name: 'user', token }), who: 'the forwarded token' };
  }
  const user = header(headers, 'x-forwarded-user');
  if (user === undefined || user === '') return { refused: 'no user identity was forwarded: sign in through the authenticating proxy' };
  if (!mode.allow.includes(user)) return { refused: `${user} is not in the UI's impersonation allow-list` };
  const own = base.getCurrentUser();
  if (own === null) return { refused: 'the UI has no credentials to impersonate with' };
  return { kc: configFor(cluster, { ...own, name: 'impersonated', impersonateUser: user }), who: user };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function configFor(
  cluster: NonNullable<ReturnType<KubeConfig['getCurrentCluster']>>,
  user: Parameters<KubeConfig['addUser']>[0],
): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [user],
    contexts: [{ name: 'user', cluster: cluster.name, user: user.name }],
    currentContext: 'user',
  });
  return kc;
}
