import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import pg from 'pg';
import { fromConfigMap, fromOperatorConfiguration, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { testPostgres } from '@pgfn/testpg';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { provisionVolumes } from '../support/volumes.js';
import { example, labelLikePatroni, onKwok, pingEvent, podEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
type Namespace = { name: string; cleanup: () => Promise<void> };

/**
 * Infrastructure roles in every form upstream reads, from Secrets in the operator's namespace and in
 * the cluster's, created with their memberships on the run's real PostgreSQL (standing in for the
 * master as in roles.test.ts): the old single Secret (user1/password1/inrole1 …) with its ConfigMap
 * of role descriptions, the ConfigMap text form of infrastructure_roles_secrets, and the CRD list form
 * with defaultuservalue/defaultrolevalue. Role names carry a random prefix: roles are cluster-wide.
 */
describe('reconcile: infrastructure roles (real control plane, real PostgreSQL)', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let ns: Namespace;
  let ops: Namespace;
  let fn: RunningReconcile;
  let db: pg.Client;
  const p = `ir${randomBytes(3).toString('hex')}`;
  const name = 'acid-infra';
  let server: ReturnType<typeof testPostgres>;

  const secret = (namespace: string, secretName: string, stringData: Record<string, string>): Promise<k8s.V1Secret> =>
    core.createNamespacedSecret({ namespace, body: { metadata: { name: secretName }, stringData } });

  before(async () => {
    server = testPostgres();
    kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'infra-roles');
    ops = await createNamespace(kc, 'infra-operator');
    // The old format and its ConfigMap of role descriptions, in the operator's namespace.
    await secret(ops.name, 'infra-old', {
      user1: `${p}_robot1`,
      password1: 'robot1-secret',
      inrole1: `${p}_group`,
      user2: `${p}_robot2`,
      password2: 'robot2-secret',
      [`${p}_described`]: 'described-secret',
    });
    await core.createNamespacedConfigMap({
      namespace: ops.name,
      body: { metadata: { name: 'infra-old' }, data: { [`${p}_described`]: `user_flags: [createdb]\ninrole: [${p}_group]\n` } },
    });
    // The ConfigMap text form, its Secret in the cluster's namespace.
    await secret(ns.name, 'infra-text', { login: `${p}_text`, pw: 'text-secret', grp: `${p}_group` });
    // The list form with default values, its Secret in the operator's namespace.
    await secret(ops.name, 'infra-list', { pw: 'list-secret' });

    const fromText = fromConfigMap(
      {
        infrastructure_roles_secret_name: 'infra-old',
        infrastructure_roles_secrets: `secretname:${ns.name}/infra-text,userkey:login,passwordkey:pw,rolekey:grp`,
      },
      { operatorNamespace: ops.name },
    );
    const fromList = fromOperatorConfiguration(
      {
        configuration: {
          kubernetes: {
            infrastructure_roles_secrets: [
              { secretname: 'infra-list', passwordkey: 'pw', defaultuservalue: `${p}_list`, defaultrolevalue: `${p}_group` },
            ],
          },
        },
      },
      { operatorNamespace: ops.name },
    );
    expect([...fromText.errors, ...fromList.errors]).to.deep.equal([]);
    const config: OperatorConfig = {
      ...fromText.config,
      infrastructureRolesSecrets: [...fromText.config.infrastructureRolesSecrets, ...fromList.config.infrastructureRolesSecrets],
    };
    fn = await startReconcile(kc, ns.name, config, { syncRoles: true, reach: () => ({ host: server.host, port: server.port }) });
    db = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
    await db.connect();
    await secret(ns.name, `postgres.${name}.credentials.postgresql.acid.zalan.do`, { username: server.user, password: server.password });
  });
  after(async () => {
    await db?.end();
    await fn?.stop();
    await ns?.cleanup();
    await ops?.cleanup();
  });

  const read = async (): Promise<Cluster> =>
    (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;
  const canLogIn = async (user: string, password: string): Promise<boolean> => {
    const client = new pg.Client({ host: server.host, port: server.port, user, password, database: 'postgres' });
    try {
      await client.connect();
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const credentials = async (role: string): Promise<string | undefined> => {
    const s = await core.readNamespacedSecret({
      namespace: ns.name,
      name: `${role.replaceAll('_', '-')}.${name}.credentials.postgresql.acid.zalan.do`,
    });
    return Buffer.from(s.data?.['password'] ?? '', 'base64').toString();
  };
  const members = async (): Promise<string[]> =>
    (
      await db.query<{ m: string }>(
        `SELECT r.rolname AS m FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.member JOIN pg_roles g ON g.oid = a.roleid
         WHERE g.rolname = $1 ORDER BY 1`,
        [`${p}_group`],
      )
    ).rows.map((r) => r.m);

  it('creates every infrastructure role with its password and memberships, and reports them', async () => {
    const base = onKwok(example('minimal.yaml', ns.name, name));
    const body = { ...base, spec: { ...base.spec, users: { [`${p}_group`]: ['nologin'] } } };
    const created = (await kc
      .makeApiClient(k8s.CustomObjectsApi)
      .createNamespacedCustomObject({ ...PG, namespace: ns.name, body })) as Cluster;
    expect((await fn.post(resourceEvent('add', created))).status).to.equal(200);
    await eventually(
      'Running pods',
      async () => {
        await provisionVolumes(kc, ns.name);
        const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `cluster-name=${name}` })).items;
        return pods.length === 2 && pods.every((x) => x.status?.phase === 'Running') ? true : undefined;
      },
      60_000,
    );
    await labelLikePatroni(kc, ns.name, name);
    expect((await fn.post(podEvent(ns.name, name))).status).to.equal(200);

    const roles = await db.query<{ rolname: string; rolcanlogin: boolean; rolcreatedb: boolean }>(
      'SELECT rolname, rolcanlogin, rolcreatedb FROM pg_roles WHERE rolname LIKE $1 ORDER BY 1',
      [`${p}%`],
    );
    expect(roles.rows).to.deep.equal([
      { rolname: `${p}_described`, rolcanlogin: true, rolcreatedb: true },
      { rolname: `${p}_group`, rolcanlogin: false, rolcreatedb: false },
      { rolname: `${p}_list`, rolcanlogin: true, rolcreatedb: false },
      { rolname: `${p}_robot1`, rolcanlogin: true, rolcreatedb: false },
      { rolname: `${p}_robot2`, rolcanlogin: true, rolcreatedb: false },
      { rolname: `${p}_text`, rolcanlogin: true, rolcreatedb: false },
    ]);
    expect(await members()).to.deep.equal([`${p}_described`, `${p}_list`, `${p}_robot1`, `${p}_text`]);
    for (const [role, password] of [
      [`${p}_robot1`, 'robot1-secret'],
      [`${p}_robot2`, 'robot2-secret'],
      [`${p}_described`, 'described-secret'],
      [`${p}_text`, 'text-secret'],
      [`${p}_list`, 'list-secret'],
    ] as const) {
      expect(await canLogIn(role, password), `${role} logs in with the infrastructure password`).to.equal(true);
      expect(await credentials(role), `${role}'s credentials Secret`).to.equal(password);
    }
    const condition = (await read()).status?.conditions?.find((c) => c.type === 'RolesSynced');
    expect(condition).to.include({ status: 'True' });
    expect(condition?.message).to.include(`infrastructure roles: ${p}_described, ${p}_list, ${p}_robot1, ${p}_robot2, ${p}_text`);
  });

  it('picks up a changed password on the next resync', async () => {
    await core.patchNamespacedSecret(
      { namespace: ops.name, name: 'infra-old', body: { stringData: { password1: 'robot1-rotated' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect((await fn.post(pingEvent())).status).to.equal(200);
    expect(await canLogIn(`${p}_robot1`, 'robot1-rotated')).to.equal(true);
    expect(await canLogIn(`${p}_robot1`, 'robot1-secret')).to.equal(false);
    expect(await credentials(`${p}_robot1`)).to.equal('robot1-rotated');
  });

  it('keeps a role removed from the infrastructure Secret, with its password and credentials Secret, as upstream', async () => {
    await core.replaceNamespacedSecret({
      namespace: ops.name,
      name: 'infra-old',
      body: {
        metadata: { name: 'infra-old' },
        stringData: { user1: `${p}_robot1`, password1: 'robot1-rotated', inrole1: `${p}_group`, [`${p}_described`]: 'described-secret' },
      },
    });
    expect((await fn.post(pingEvent())).status).to.equal(200);
    expect(await canLogIn(`${p}_robot2`, 'robot2-secret')).to.equal(true);
    expect(await credentials(`${p}_robot2`)).to.equal('robot2-secret');
    const message = (await read()).status?.conditions?.find((c) => c.type === 'RolesSynced')?.message;
    expect(message).to.include(`infrastructure roles: ${p}_described, ${p}_list, ${p}_robot1, ${p}_text`);
  });
});
