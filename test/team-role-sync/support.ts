// Test helpers for team-role-sync: a local Teams API (the one external service we may stand in
// for), the function app on a free port with real clients, and a cluster whose "master" is a kwok
// pod mapped to a real PostgreSQL.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { CloudEvent, HTTP } from 'cloudevents';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { KWOK_NODE_NAME } from '@pgfn/controlplane';
import { createLogger, createMetrics, startFunction } from '@pgfn/fn-runtime';
import { KubeClient } from '@pgfn/kube';
import type { MasterAddress } from '@pgfn/roles';
import { createHandler } from '../../functions/team-role-sync/src/handler.js';

/** How the fake Teams API behaves right now. */
export type TeamsApiMode = 'ok' | 'error-500' | 'garbage' | 'not-json' | 'hang';

export interface FakeTeamsApi {
  readonly url: string;
  /** team -> members; a team not in here answers 404. */
  readonly teams: Map<string, string[]>;
  /** Answer with a bare list instead of upstream's team object. */
  bareList: boolean;
  mode: TeamsApiMode;
  readonly requests: { path: string; authorization: string | undefined }[];
  stop(): Promise<void>;
}

export async function startTeamsApi(): Promise<FakeTeamsApi> {
  const api: Omit<FakeTeamsApi, 'url' | 'stop'> = { teams: new Map(), bareList: false, mode: 'ok', requests: [] };
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    api.requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const m = /^\/api\/teams\/([^/?]+)$/.exec(req.url ?? '');
    if (api.mode === 'hang') {
      hanging.add(res);
      return;
    }
    if (api.mode === 'error-500') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"database is on fire"}');
      return;
    }
    if (api.mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"member": "everyone"}');
      return;
    }
    if (api.mode === 'not-json') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login required</html>');
      return;
    }
    const members = m?.[1] === undefined ? undefined : api.teams.get(decodeURIComponent(m[1]));
    if (members === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"team not found"}');
      return;
    }
    const team = decodeURIComponent(m?.[1] ?? '');
    const body = api.bareList
      ? members
      : { dn: `cn=${team}`, id: team, id_name: team, team_id: team, type: 'official', name: team, member: members };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
  return Object.assign(api, {
    url,
    stop: async (): Promise<void> => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  });
}

export interface RunningTeamSync {
  readonly url: string;
  readonly emitted: { type: string; subject: string; data: Record<string, unknown> }[];
  /** Kubernetes requests by verb. */
  readonly requests: Map<string, number>;
  config: OperatorConfig;
  post(event: CloudEvent<unknown>): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * The app with real clients; `reach` maps a master (by pod name) to the Postgres that plays it, and
 * the configuration can be changed between events (`fn.config = …`).
 */
export async function startTeamSync(
  kc: k8s.KubeConfig,
  options: {
    config: OperatorConfig;
    watchedNamespace: string;
    operatorNamespace: string;
    reach: (master: MasterAddress) => { host: string; port: number };
  },
): Promise<RunningTeamSync> {
  const emitted: RunningTeamSync['emitted'] = [];
  const requests = new Map<string, number>();
  const kube = new KubeClient(kc, (verb) => requests.set(verb, (requests.get(verb) ?? 0) + 1));
  const state = { config: options.config };
  const log = createLogger('team-role-sync-test', process.env['PGFN_TEST_LOG'] ?? 'silent');
  const handle = createHandler({
    kube,
    loadConfig: () => Promise.resolve({ config: state.config, problems: [] }),
    operatorNamespace: options.operatorNamespace,
    now: () => new Date(),
    emit: (type, subject, data) => {
      emitted.push({ type, subject, data });
      return Promise.resolve();
    },
    // The test Postgres has no TLS: `prefer` falls back to plain, as a cluster without certs would.
    sslmode: 'prefer',
    reach: options.reach,
    retry: { attempts: 1 },
    teamsApi: { timeoutMs: 1_500, attempts: 2, backoffMs: 50 },
    watchedNamespace: options.watchedNamespace,
  });
  // The node:http server the bundle serves, as in production.
  const { server, url } = await startFunction({
    fn: 'team-role-sync',
    handle,
    log,
    metrics: createMetrics('team-role-sync-test', false),
    port: 0,
    host: '127.0.0.1',
  });
  return {
    url,
    emitted,
    requests,
    get config() {
      return state.config;
    },
    set config(c: OperatorConfig) {
      state.config = c;
    },
    post: async (event) => {
      const msg = HTTP.binary(event);
      return fetch(url, { method: 'POST', headers: msg.headers as Record<string, string>, body: msg.body as string });
    },
    stop: async () => {
      await new Promise((r) => server.close(r));
    },
  };
}

export function pingEvent(): CloudEvent<unknown> {
  return new CloudEvent({
    type: 'dev.knative.sources.ping',
    source: '/apis/v1/namespaces/pgfn-system/pingsources/pgfn-team-sync',
    data: { task: 'team-sync' },
  });
}

/** Shaped like the ApiServerSource's Resource-mode events. */
export function resourceEvent(
  verb: 'add' | 'update' | 'delete',
  obj: { kind?: string; apiVersion?: string; metadata?: { name?: string; namespace?: string } },
): CloudEvent<unknown> {
  return new CloudEvent({
    type: `dev.knative.apiserver.resource.${verb}`,
    source: 'https://127.0.0.1/apis/v1',
    subject: `/apis/${obj.apiVersion ?? 'acid.zalan.do/v1'}/namespaces/${obj.metadata?.namespace ?? ''}/x/${obj.metadata?.name ?? ''}`,
    kind: obj.kind ?? 'postgresql',
    name: obj.metadata?.name ?? '',
    namespace: obj.metadata?.namespace ?? '',
    apiversion: obj.apiVersion ?? 'acid.zalan.do/v1',
    datacontenttype: 'application/json',
    data: obj,
  });
}

export const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

/**
 * A postgresql object (nothing reconciles it), its superuser Secret holding `server`'s password, and
 * a kwok pod `<name>-0` labelled master as Patroni would: what team-role-sync reads to connect.
 */
export async function makeCluster(
  kc: k8s.KubeConfig,
  where: { namespace: string; name: string },
  teamId: string,
  opts: { server: { user: string; password: string }; users?: Record<string, string[]> },
): Promise<Postgresql & k8s.KubernetesObject> {
  const { namespace, name } = where;
  const { server, users = {} } = opts;
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const body = {
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name, namespace },
    spec: { teamId, numberOfInstances: 1, postgresql: { version: '15' }, volume: { size: '1Gi' }, users },
  };
  const created = (await custom.createNamespacedCustomObject({ ...PG, namespace, body })) as Postgresql & k8s.KubernetesObject;
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: `postgres.${name}.credentials.postgresql.acid.zalan.do` },
      stringData: { username: server.user, password: server.password },
    },
  });
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: `${name}-0`, labels: { application: 'spilo', 'cluster-name': name, 'spilo-role': 'master' } },
      spec: { nodeName: KWOK_NODE_NAME, containers: [{ name: 'postgres', image: 'spilo' }] },
    },
  });
  return created;
}

export async function readCluster(kc: k8s.KubeConfig, namespace: string, name: string): Promise<Postgresql & k8s.KubernetesObject> {
  return (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...PG, namespace, name })) as Postgresql &
    k8s.KubernetesObject;
}

export function teamConfig(prefix: string, overrides: Partial<OperatorConfig> = {}): OperatorConfig {
  return {
    ...DEFAULT_OPERATOR_CONFIG,
    enableTeamsApi: true,
    pamRoleName: `${prefix}_pam`,
    teamAdminRole: `${prefix}_admin`,
    protectedRoleNames: ['admin', 'cron_admin', `${prefix}_admin`],
    teamApiRoleConfiguration: { log_statement: 'all' },
    ...overrides,
  };
}
