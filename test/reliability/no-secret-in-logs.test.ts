// Issue 20, item 7: no password in any log. A cluster with roles is reconciled at trace level by the
// real reconcile (its log into a file), with its roles synced on the run's real PostgreSQL, which logs
// every statement meanwhile (log_statement = all for the superuser the sync connects as); a manifest
// turned invalid and a resync follow. Every password of the run — each credential Secret's, the
// server's — is then searched for, as is and base64-encoded, in every log file of the run: reconcile's,
// every control-plane component's, PostgreSQL's. 0 hits. (The node agent's Patroni and PgBouncer logs
// and the event pipeline's are not part of this bounded test; they run only in the real-Patroni suites.)
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import pg from 'pg';
import type { Postgresql } from '@pgfn/api';
import { quoteIdent } from '@pgfn/roles';
import { testPostgres } from '@pgfn/testpg';
import { ensureCrds } from '../crds/install.js';
import { example, labelLikePatroni, onKwok, pingEvent, podEvent, resourceEvent, startReconcile } from '../reconcile/support.js';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { provisionVolumes } from '../support/volumes.js';
import { removeNamespaces } from './event-chaos.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

/** Every regular file below `dir`. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    return statSync(path).isDirectory() ? filesBelow(path) : [path];
  });
}

describe('reliability: no password in any log of the run', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string };
  let db: pg.Client;
  const p = `ls${randomBytes(3).toString('hex')}`;
  const name = 'acid-logs';

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'no-secret-logs');
    const server = testPostgres();
    db = new pg.Client({ ...server, database: 'postgres' });
    await db.connect();
    await db.query(`ALTER ROLE ${quoteIdent(server.user)} SET log_statement = 'all'`);
  });
  after(async () => {
    await db.query(`ALTER ROLE ${quoteIdent(testPostgres().user)} RESET log_statement`);
    await db.query(`DROP DATABASE IF EXISTS ${quoteIdent(`${p}_db`)} WITH (FORCE)`);
    for (const r of [`${p}_owner`, `${p}_app`, `${p}_reader`]) await db.query(`DROP ROLE IF EXISTS ${quoteIdent(r)}`);
    await db.end();
    await removeNamespaces(adminConfig(), [ns.name]);
  });

  it('finds none of the passwords, raw or base64, in reconcile, control-plane or PostgreSQL logs', async () => {
    const server = testPostgres();
    const logFile = join(testEnv().logDir, `reconcile-${ns.name}.log`);
    const fn = await startReconcile(kc, ns.name, undefined, {
      syncRoles: true,
      reach: () => ({ host: server.host, port: server.port }),
      log: { level: 'trace', file: logFile },
    });
    try {
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const custom = kc.makeApiClient(k8s.CustomObjectsApi);
      await core.createNamespacedSecret({
        namespace: ns.name,
        body: {
          metadata: { name: `postgres.${name}.credentials.postgresql.acid.zalan.do` },
          stringData: { username: server.user, password: server.password },
        },
      });
      const base = onKwok(example('minimal.yaml', ns.name, name));
      const users = { [`${p}_owner`]: ['createdb'], [`${p}_app`]: [], [`${p}_reader`]: ['nologin'] };
      const body = { ...base, spec: { ...base.spec, users, databases: { [`${p}_db`]: `${p}_owner` } } };
      const created = (await custom.createNamespacedCustomObject({ ...PG, namespace: ns.name, body })) as Cluster;
      expect((await fn.post(resourceEvent('add', created))).status).to.equal(200);
      await eventually(
        'Running pods',
        async () => {
          await provisionVolumes(kc, ns.name);
          const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `cluster-name=${name}` })).items;
          return pods.length === 2 && pods.every((x) => x.status?.phase === 'Running') ? true : undefined;
        },
        90_000,
      );
      await labelLikePatroni(kc, ns.name, name);
      expect((await fn.post(podEvent(ns.name, name))).status).to.equal(200);
      const rolesSynced = async (): Promise<string | undefined> =>
        ((await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster).status?.conditions?.find(
          (c) => c.type === 'RolesSynced',
        )?.status;
      expect(await rolesSynced()).to.equal('True');
      // an invalid edit, then the fix and a resync: the error and the repair paths log too
      const cur = (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;
      const invalid = (await custom.replaceNamespacedCustomObject({
        ...PG,
        namespace: ns.name,
        name,
        body: { ...cur, spec: { ...cur.spec, users: { ...users, "x'; --": [] } } },
      })) as Cluster;
      expect((await fn.post(resourceEvent('update', invalid))).status).to.equal(200);
      const now = (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;
      const fixed = (await custom.replaceNamespacedCustomObject({
        ...PG,
        namespace: ns.name,
        name,
        body: { ...now, spec: body.spec },
      })) as Cluster;
      expect((await fn.post(resourceEvent('update', fixed))).status).to.equal(200);
      await db.query(`ALTER ROLE ${quoteIdent(`${p}_app`)} PASSWORD NULL`); // drift: the next sync sets it again
      expect((await fn.post(pingEvent())).status).to.equal(200);
    } finally {
      await fn.stop();
    }

    const secrets = (await kc.makeApiClient(k8s.CoreV1Api).listNamespacedSecret({ namespace: ns.name })).items;
    const passwords = [
      server.password,
      ...secrets.map((s) => Buffer.from(s.data?.['password'] ?? '', 'base64').toString('utf8')).filter((x) => x !== ''),
    ];
    expect(passwords.length, 'passwords of the run').to.be.at.least(4);
    const { rows } = await db.query<{ d: string }>('SELECT current_setting($1) AS d', ['data_directory']);
    const pgLog = join(dirname(rows[0]?.d ?? ''), 'postgres.log');
    const files = [...filesBelow(testEnv().logDir), pgLog].filter((f) => existsSync(f));
    // the logs did see the work: reconcile's trace, the role statements in PostgreSQL's log
    expect(readFileSync(logFile, 'utf8')).to.include(`${p}-app.${name}.credentials`);
    expect(readFileSync(pgLog, 'utf8')).to.match(new RegExp(`ALTER ROLE "${p}_app"`));
    const hits: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const pw of passwords) {
        for (const form of [pw, Buffer.from(pw).toString('base64')])
          if (text.includes(form)) hits.push(`${file}: a password (${form.length} characters)`);
      }
    }
    expect(hits, `searched ${files.length} files for ${passwords.length} passwords`).to.deep.equal([]);
    console.log(`      searched ${files.length} log files for ${passwords.length} passwords: 0 hits`);
  });
});
