import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse } from 'yaml';
import type { PostgresSpec } from '@pgfn/api';
import { quoteIdent, readRoles, type CurrentRole, type ProgressEvent, type RolesConfig } from '@pgfn/roles';
import {
  adminClient,
  assertClean,
  canLogin,
  cleanup,
  connection,
  createSpiloRoles,
  query,
  runSync,
  SecretStore,
  testCluster,
  testConfig,
  uniquePrefix,
  type RunInput,
  type TestSpec,
} from './helpers.js';

const DAY = 86_400_000;

/** The role's flags as the library reads them from pg_authid, or undefined when the role does not exist. */
async function roleFlags(name: string): Promise<CurrentRole['flags'] | undefined> {
  const client = await adminClient();
  try {
    return (await readRoles(client)).get(name)?.flags;
  } finally {
    await client.end();
  }
}

async function memberships(member: string): Promise<string[]> {
  const rows = await query<{ g: string; admin: boolean }>(
    `SELECT g.rolname AS g, m.admin_option AS admin FROM pg_auth_members m
      JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member
      WHERE r.rolname = $1 ORDER BY 1`,
    [member],
  );
  return rows.map((r) => (r.admin ? `${r.g} (admin)` : r.g));
}

async function settings(roleName: string): Promise<string[]> {
  const rows = await query<{ setconfig: string[] }>(
    'SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = $1 AND s.setdatabase = 0',
    [roleName],
  );
  return rows[0]?.setconfig ?? [];
}

async function roleNames(prefix: string): Promise<string[]> {
  return (await query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1', [prefix])).map(
    (r) => r.rolname,
  );
}

/** Runs a sync and fails on statement errors. */
async function sync(input: RunInput): ReturnType<typeof runSync> {
  const result = await runSync(input);
  assertClean(result.report);
  return result;
}

/** The manifest with every role, database and schema name given the test's prefix. */
function prefixed(spec: PostgresSpec, p: string): TestSpec {
  const map = <T>(record: Record<string, T> | undefined, value: (v: T) => T = (v) => v): Record<string, T> | undefined =>
    record === undefined ? undefined : Object.fromEntries(Object.entries(record).map(([k, v]) => [p + k, value(v)]));
  const list = (names: string[] | null | undefined): string[] | undefined => names?.map((n) => p + n);
  return {
    ...spec,
    users: map(spec.users),
    databases: map(spec.databases, (owner) => p + owner),
    preparedDatabases: map(spec.preparedDatabases),
    usersWithSecretRotation: list(spec.usersWithSecretRotation),
    usersWithInPlaceSecretRotation: list(spec.usersWithInPlaceSecretRotation),
    usersIgnoringSecretRotation: list(spec.usersIgnoringSecretRotation),
    connectionPooler: {
      ...spec.connectionPooler,
      user: p + (spec.connectionPooler?.user ?? 'pooler'),
      schema: p + (spec.connectionPooler?.schema ?? 'pooler'),
    },
  };
}

describe('syncRolesAndDatabases against PostgreSQL 15', function () {
  this.timeout(120_000);
  let p: string;
  let config: RolesConfig;
  beforeEach(async () => {
    p = uniquePrefix();
    config = testConfig(p);
    await createSpiloRoles(p);
  });
  afterEach(async () => cleanup(p));

  it('creates robot users with each flag, a Secret each, and the team admin as their admin', async () => {
    const flags: Record<string, string[]> = {
      su: ['superuser'],
      inh: ['inherit'],
      noinh: ['noinherit'],
      login: ['login'],
      nologin: ['nologin'],
      cr: ['createrole'],
      cdb: ['createdb'],
      repl: ['replication'],
      bypass: ['bypassrls'],
      mixed: ['SuperUser', 'CREATEDB'],
      plain: [],
    };
    const users = Object.fromEntries(Object.entries(flags).map(([k, v]) => [p + k, v]));
    const secrets = new SecretStore();
    await sync({ cluster: testCluster(p, { users }), config, secrets });

    const row = async (k: string): Promise<CurrentRole['flags']> => (await roleFlags(p + k)) as CurrentRole['flags'];
    expect(await row('su')).to.include({ SUPERUSER: true, LOGIN: true });
    expect(await row('inh')).to.include({ INHERIT: true, SUPERUSER: false });
    expect(await row('noinh')).to.include({ INHERIT: false, LOGIN: true });
    expect(await row('login')).to.include({ LOGIN: true });
    expect(await row('nologin')).to.include({ LOGIN: false });
    expect(await row('cr')).to.include({ CREATEROLE: true, LOGIN: true });
    expect(await row('cdb')).to.include({ CREATEDB: true });
    expect(await row('repl')).to.include({ REPLICATION: true });
    expect(await row('bypass')).to.include({ BYPASSRLS: true });
    expect(await row('mixed')).to.include({ SUPERUSER: true, CREATEDB: true, LOGIN: true });
    expect(await row('plain')).to.include({ SUPERUSER: false, CREATEDB: false, LOGIN: true, INHERIT: true });

    expect(await canLogin(p + 'plain', secrets.secrets.get(p + 'plain')?.password ?? '')).to.equal(true);
    expect(await canLogin(p + 'nologin', secrets.secrets.get(p + 'nologin')?.password ?? '')).to.equal(false);
    expect(await memberships(`${p}admin`)).to.include.members(Object.keys(users).map((u) => `${u} (admin)`));
    // the system users of this test's configuration
    expect(await row('postgres')).to.include({ SUPERUSER: true, LOGIN: true });
    expect(await row('standby')).to.include({ REPLICATION: true, LOGIN: true });
    expect(await canLogin(`${p}postgres`, secrets.secrets.get(`${p}postgres`)?.password ?? '')).to.equal(true);

    const again = await sync({ cluster: testCluster(p, { users }), config, secrets });
    expect(again.report.plan.statements.map((s) => s.display)).to.deep.equal([]);
  });

  it("builds the complete example's preparedDatabases, users and pooler, then has nothing left to do", async () => {
    const example = parse(readFileSync(new URL('../../crds/examples/complete.yaml', import.meta.url), 'utf8')) as { spec: PostgresSpec };
    const spec = prefixed(example.spec, p);
    const cluster = testCluster(p, spec);
    const secrets = new SecretStore();
    const first = await sync({ cluster, config, secrets });
    expect(first.report.plan.warnings).to.deep.equal([]);
    const shop = `${p}shop`;

    const dbs = await query<{ datname: string; owner: string }>(
      'SELECT datname, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1',
      [p],
    );
    expect(dbs).to.deep.equal([
      { datname: `${p}app`, owner: `${p}app_owner` },
      { datname: shop, owner: `${shop}_owner` },
    ]);
    const schemas = await query<{ nspname: string; owner: string }>(
      "SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('data', 'history') ORDER BY 1",
      [],
      shop,
    );
    expect(schemas).to.deep.equal([
      { nspname: 'data', owner: `${shop}_data_owner` },
      { nspname: 'history', owner: `${shop}_history_owner` },
    ]);
    const extensions = await query<{ extname: string; nspname: string }>(
      "SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'" +
        ' ORDER BY 1',
      [],
      shop,
    );
    expect(extensions).to.deep.equal([
      { extname: 'pg_partman', nspname: 'public' },
      { extname: 'pgcrypto', nspname: 'data' },
    ]);

    // roles, memberships and admins as in docs/user.md
    expect(await memberships(`${shop}_writer`)).to.deep.equal([`${shop}_reader`]);
    expect(await memberships(`${shop}_writer_user`)).to.deep.equal([`${shop}_writer`]);
    expect(await memberships('admin')).to.include.members([`${shop}_owner (admin)`, `${shop}_owner_user (admin)`]);
    expect(await memberships(`${shop}_owner`)).to.include.members([
      `${shop}_reader (admin)`,
      `${shop}_writer (admin)`,
      `${shop}_data_owner (admin)`,
      `${shop}_history_owner (admin)`,
    ]);
    expect(await roleFlags(`${shop}_owner`)).to.include({ LOGIN: false });
    expect(await roleFlags(`${shop}_owner_user`)).to.include({ LOGIN: true });
    expect(await roleFlags(`${shop}_history_owner_user`)).to.equal(undefined); // history: defaultUsers false
    expect(await roleFlags(`${shop}_data_owner_user`)).to.equal(undefined); // data: {} has no default users
    expect(await settings(`${shop}_reader`)).to.deep.equal(['search_path="$user", data, history']);
    expect(await settings(`${shop}_history_writer`)).to.deep.equal(['search_path="$user", history']);

    // manifest users of the example
    expect(await roleFlags(`${p}app_owner`)).to.include({ CREATEDB: true, LOGIN: true });
    expect(await roleFlags(`${p}migrator`)).to.include({ LOGIN: false });
    expect(await roleFlags(`${p}reporting.analyst`)).to.include({ INHERIT: false, LOGIN: true });

    // default privileges work: what the owners create, the readers may read and the writers write
    const client = await adminClient(shop);
    try {
      await client.query(`SET ROLE ${quoteIdent(`${shop}_data_owner`)}; CREATE TABLE data.orders (id int); RESET ROLE`);
      await client.query(
        `SET ROLE ${quoteIdent(`${shop}_owner`)}; CREATE TABLE history.old_orders (id int); CREATE SEQUENCE history.s; RESET ROLE`,
      );
      const can = async (who: string, table: string, privilege: string): Promise<boolean> =>
        (await client.query<{ ok: boolean }>('SELECT has_table_privilege($1, $2, $3) AS ok', [who, table, privilege])).rows[0]?.ok ?? false;
      expect(await can(`${shop}_reader`, 'data.orders', 'SELECT')).to.equal(true);
      expect(await can(`${shop}_reader`, 'data.orders', 'INSERT')).to.equal(false);
      expect(await can(`${shop}_writer`, 'data.orders', 'INSERT')).to.equal(true);
      expect(await can(`${shop}_data_reader`, 'data.orders', 'SELECT')).to.equal(true);
      expect(await can(`${shop}_reader_user`, 'data.orders', 'SELECT')).to.equal(true);
      expect(await can(`${shop}_history_reader`, 'history.old_orders', 'SELECT')).to.equal(true);
      expect(await can(`${shop}_history_writer`, 'history.old_orders', 'DELETE')).to.equal(true);
      expect(await can(`${shop}_data_reader`, 'history.old_orders', 'SELECT')).to.equal(false);
      const seq = await client.query<{ ok: boolean }>("SELECT has_sequence_privilege($1, 'history.s', 'USAGE') AS ok", [
        `${shop}_history_writer`,
      ]);
      expect(seq.rows[0]?.ok).to.equal(true);
    } finally {
      await client.end();
    }

    // the example has streams: upstream's fixed stream user exists, with replication
    expect(await roleFlags('fes_user')).to.include({ REPLICATION: true, LOGIN: true });

    const again = await sync({ cluster, config, secrets });
    expect(again.report.plan.statements.map((s) => s.display)).to.deep.equal([]);
    await cleanup(p, ['fes_user']);
  });

  it('rotates passwords with a new user and in place, and drops rotation users past the retention', async () => {
    const rotation = testConfig(p, { passwordRotationInterval: 1, passwordRotationUserRetention: 3 });
    const app = `${p}app`;
    const flyway = `${p}flyway`;
    const cluster = testCluster(p, {
      users: { [app]: ['createdb'], [flyway]: [] },
      usersWithSecretRotation: [app],
      usersWithInPlaceSecretRotation: [flyway],
    });
    const secrets = new SecretStore();
    const day = (n: number): Date => new Date(Date.UTC(2026, 10, 21, 9) + n * DAY);
    await sync({ cluster, config: rotation, secrets, now: day(0) });
    const original = { app: secrets.secrets.get(app)?.password ?? '', flyway: secrets.secrets.get(flyway)?.password ?? '' };
    await sync({ cluster, config: rotation, secrets, now: day(0) }); // sets nextRotation
    expect(secrets.secrets.get(app)?.nextRotation).to.equal('2026-11-22T09:00:00Z');

    await sync({ cluster, config: rotation, secrets, now: day(2) });
    const rotated = secrets.secrets.get(app);
    expect(rotated?.username).to.equal(`${app}261123`);
    expect(await memberships(`${app}261123`)).to.include(app);
    expect(await roleFlags(`${app}261123`)).to.include({ CREATEDB: true, LOGIN: true });
    expect(await canLogin(`${app}261123`, rotated?.password ?? '')).to.equal(true);
    expect(await canLogin(app, original.app), 'the old login still works').to.equal(true);
    // in place: same user, new password
    expect(secrets.secrets.get(flyway)?.username).to.equal(flyway);
    expect(await canLogin(flyway, secrets.secrets.get(flyway)?.password ?? '')).to.equal(true);
    expect(await canLogin(flyway, original.flyway)).to.equal(false);

    // retention max(3, 2 × 1) = 3 days: on Nov 25, 09:00 the user of Nov 23 is young enough to stay
    await sync({ cluster, config: rotation, secrets, now: day(4) });
    expect((await roleNames(app)).filter((n) => n !== app)).to.deep.equal([`${app}261123`, `${app}261125`]);
    // on Nov 27, 09:00 it is older than Nov 24, 09:00 and goes; Nov 25 and the current Nov 27 stay
    const later = await sync({ cluster, config: rotation, secrets, now: day(6) });
    expect(later.report.plan.statements.filter((s) => s.kind === 'drop-role').map((s) => s.display)).to.deep.equal([
      `DROP ROLE IF EXISTS ${quoteIdent(`${app}261123`)}`,
    ]);
    expect((await roleNames(app)).filter((n) => n !== app)).to.deep.equal([`${app}261125`, `${app}261127`]);

    const settled = await sync({ cluster, config: rotation, secrets, now: day(6) });
    expect(settled.report.plan.statements).to.have.length(0);
  });

  it('takes the password of a pre-created Secret and follows it when it changes', async () => {
    const app = `${p}app`;
    const cluster = testCluster(p, { users: { [app]: [] } });
    const secrets = new SecretStore();
    const custom = `my "custom" pä'ss; word`;
    secrets.secrets.set(app, { username: app, password: custom });
    await sync({ cluster, config, secrets });
    expect(await canLogin(app, custom)).to.equal(true);
    expect(secrets.secrets.get(app)?.password).to.equal(custom);

    secrets.secrets.set(app, { username: app, password: 'changed by hand' });
    const changed = await sync({ cluster, config, secrets });
    expect(changed.report.plan.statements.map((s) => s.display)).to.deep.equal([
      `ALTER ROLE ${quoteIdent(app)} WITH PASSWORD '<redacted>'`,
    ]);
    expect(await canLogin(app, 'changed by hand')).to.equal(true);
    expect(await canLogin(app, custom)).to.equal(false);
    expect((await sync({ cluster, config, secrets })).report.plan.statements).to.have.length(0);
  });

  it('keeps the real superuser untouched when its Secret holds its password', async () => {
    const { testPostgres } = await import('@pgfn/testpg');
    const secrets = new SecretStore();
    secrets.secrets.set('postgres', { username: 'postgres', password: testPostgres().password });
    const result = await sync({ cluster: testCluster(p), config: { ...config, superUsername: 'postgres' }, secrets });
    expect(result.report.plan.statements.filter((s) => s.sql.includes('"postgres"'))).to.deep.equal([]);
  });

  it('keeps working after changing the password of the superuser it connects as', async () => {
    const su = `${p}postgres`;
    await query(`CREATE ROLE ${quoteIdent(su)} SUPERUSER LOGIN PASSWORD 'old-password'`);
    const secrets = new SecretStore();
    secrets.secrets.set(su, { username: su, password: 'new-password' });
    const cluster = testCluster(p, { users: { [`${p}app`]: [] }, databases: { [`${p}db`]: `${p}app` }, enableConnectionPooler: true });
    const result = await sync({ cluster, config, secrets, connection: { ...connection(), user: su, password: 'old-password' } });
    expect(result.report.plan.statements.find((s) => s.setsPasswordOf === su)?.display).to.equal(
      `ALTER ROLE ${quoteIdent(su)} WITH PASSWORD '<redacted>'`,
    );
    expect(result.report.plan.statements.filter((s) => s.database === `${p}db`).length).to.be.greaterThan(0);
    expect(await canLogin(su, 'new-password')).to.equal(true);
  });

  it('creates infrastructure roles with membership, flags and settings, and follows their password', async () => {
    await query(`CREATE ROLE ${quoteIdent(`${p}operator`)} NOLOGIN`);
    const robot = `${p}robot`;
    const infra = [
      {
        name: robot,
        password: 'infra-secret',
        memberOf: [`${p}operator`],
        flags: ['createdb'],
        parameters: { log_statement: 'all', statement_timeout: '30s' },
      },
    ];
    const secrets = new SecretStore();
    const cluster = testCluster(p, { users: { [robot]: ['superuser'] } });
    const first = await sync({ cluster, config, secrets, infrastructureRoles: infra });
    expect(await roleFlags(robot)).to.include({ CREATEDB: true, LOGIN: true, SUPERUSER: false });
    expect(await memberships(robot)).to.deep.equal([`${p}operator`]);
    expect(await settings(robot)).to.have.members(['log_statement=all', 'statement_timeout=30s']);
    expect(await canLogin(robot, 'infra-secret')).to.equal(true);
    expect(first.credentials.get(robot)?.content.password).to.equal('infra-secret');

    await sync({ cluster, config, secrets, infrastructureRoles: [{ ...infra[0]!, password: 'rotated-by-infra' }] });
    expect(await canLogin(robot, 'rotated-by-infra')).to.equal(true);
    expect(secrets.secrets.get(robot)?.password).to.equal('rotated-by-infra');
  });

  it('rejects or safely quotes hostile names and parameters, as the catalogs show', async () => {
    const victim = `${p}victim`;
    await query(`CREATE ROLE ${quoteIdent(victim)} NOLOGIN`);
    const hostileValue = `x'; DROP ROLE ${victim}; --`;
    const unicodeValue = 'ünï😀 "quoted" \\back';
    const secrets = new SecretStore();
    secrets.secrets.set(`${p}ok`, { username: `${p}ok`, password: `'); DROP ROLE ${victim}; --` });
    const result = await runSync({
      cluster: testCluster(p, {
        users: {
          [`${p}ok`]: [],
          [`${p}x"; DROP ROLE ${victim}; --`]: [],
          [`${p}bäcker`]: [],
          [`${p}${'l'.repeat(60)}`]: [],
          [`${p}flags`]: ['superuser; DROP ROLE x'],
        },
        databases: {
          [`${p}db"; DROP DATABASE postgres; --`]: `${p}ok`,
          [`${p}good`]: `${p}ok"; DROP ROLE ${victim}; --`,
          template1: `${p}ok`,
        },
        preparedDatabases: { [`${p}prep`]: { schemas: { 'data; DROP SCHEMA public': {} }, extensions: { 'pgcrypto"; DROP': 'public' } } },
        connectionPooler: { schema: 'pooler"; DROP', user: `x"; DROP ROLE ${victim}; --` },
      }),
      config,
      secrets,
      infrastructureRoles: [
        {
          name: `${p}infra`,
          password: 'pw',
          memberOf: [`${victim}"; DROP ROLE ${victim}; --`],
          parameters: { application_name: hostileValue, 'search_path; DROP ROLE x': 'public', 'myapp.note': unicodeValue },
        },
      ],
    });
    assertClean(result.report);
    const paths = result.problems.map((x) => x.path);
    expect(paths).to.include.members([
      `spec.users["${p}x\\"; DROP ROLE ${victim}; --"]`,
      `spec.users["${p}bäcker"]`,
      `spec.users["${p}${'l'.repeat(60)}"]`,
      `spec.users["${p}flags"]`,
      `spec.databases["${p}db\\"; DROP DATABASE postgres; --"]`,
      'spec.databases["template1"]',
      `spec.preparedDatabases["${p}prep"].schemas["data; DROP SCHEMA public"]`,
      `spec.preparedDatabases["${p}prep"].extensions["pgcrypto\\"; DROP"]`,
      'spec.connectionPooler.schema',
      'spec.connectionPooler.user',
    ]);
    expect(result.report.plan.warnings.join('\n')).to.match(/does not exist/);

    // only the sane objects exist, the victim is alive, hostile values are stored verbatim
    expect(await roleNames(p)).to.include.members([`${p}ok`, `${p}infra`, victim, `${p}pooler`]);
    expect((await roleNames(p)).filter((n) => /["; ]|ä/.test(n))).to.deep.equal([]);
    expect(await roleFlags(victim)).to.not.equal(undefined);
    expect(await roleFlags(`${p}flags`)).to.equal(undefined);
    expect(
      (await query<{ n: number }>('SELECT count(*)::int AS n FROM pg_database WHERE datname IN ($1, $2)', ['postgres', 'template1']))[0]?.n,
    ).to.equal(2);
    expect(await settings(`${p}infra`)).to.have.members([`application_name=${hostileValue}`, `myapp.note=${unicodeValue}`]);
    expect(await canLogin(`${p}ok`, `'); DROP ROLE ${victim}; --`)).to.equal(true);
    // the database whose owner was hostile was skipped; the prepared one exists without the bad schema
    const dbs = await query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1', [p]);
    expect(dbs.map((d) => d.datname)).to.deep.equal([`${p}prep`]);
  });

  it('repairs what was changed by hand, and only that', async () => {
    const app = `${p}app`;
    const shop = `${p}shop`;
    const cluster = testCluster(p, { users: { [app]: ['createdb'] }, preparedDatabases: { [shop]: {} }, enableConnectionPooler: true });
    const secrets = new SecretStore();
    await sync({ cluster, config, secrets });

    const pooler = `${p}pooler`;
    await query(`ALTER ROLE ${quoteIdent(app)} NOCREATEDB`);
    await query(`ALTER ROLE ${quoteIdent(`${shop}_reader`)} RESET search_path`);
    await query(`REVOKE ${quoteIdent(`${shop}_reader`)} FROM ${quoteIdent(`${shop}_writer`)}`);
    await query(`REVOKE USAGE ON SCHEMA data FROM ${quoteIdent(`${shop}_reader`)}`, [], shop);
    await query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(`${shop}_owner`)} REVOKE SELECT ON TABLES FROM ${quoteIdent(`${shop}_reader`)}`,
      [],
      shop,
    );
    await query(`DROP FUNCTION ${quoteIdent(pooler)}.user_lookup(text)`, [], shop);

    const repair = await sync({ cluster, config, secrets });
    const shown = repair.report.plan.statements.map((s) => s.display.replace(/ AS \$pgfn_lookup\$.*/, ''));
    expect(shown).to.deep.equal([
      `ALTER ROLE ${quoteIdent(app)} WITH CREATEDB`,
      `ALTER ROLE ${quoteIdent(`${shop}_reader`)} SET search_path TO "$user", "data"`,
      `GRANT ${quoteIdent(`${shop}_reader`)} TO ${quoteIdent(`${shop}_writer`)}`,
      `GRANT USAGE ON SCHEMA "data" TO ${quoteIdent(`${shop}_reader`)}`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(`${shop}_owner`)} GRANT SELECT ON TABLES TO ${quoteIdent(`${shop}_reader`)}`,
      `CREATE OR REPLACE FUNCTION ${quoteIdent(pooler)}.user_lookup(i_username text, OUT uname text, OUT phash text) RETURNS record` +
        ' LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp',
      `REVOKE ALL ON FUNCTION ${quoteIdent(pooler)}.user_lookup(text) FROM PUBLIC`,
      `GRANT EXECUTE ON FUNCTION ${quoteIdent(pooler)}.user_lookup(text) TO ${quoteIdent(pooler)}`,
    ]);
    expect(await roleFlags(app)).to.include({ CREATEDB: true });
    expect((await sync({ cluster, config, secrets })).report.plan.statements).to.have.length(0);
  });

  it('installs the pooler lookup into every database, also those made outside the manifest', async () => {
    const outside = `${p}outside`;
    await query(`CREATE DATABASE ${quoteIdent(outside)}`);
    const app = `${p}app`;
    const cluster = testCluster(p, {
      users: { [app]: [] },
      databases: { [`${p}appdb`]: app },
      enableConnectionPooler: true,
      connectionPooler: { user: `${p}bouncer`, schema: `${p}pgbouncer` },
    });
    const secrets = new SecretStore();
    const first = await sync({ cluster, config, secrets });
    const pooled = new Set(first.report.plan.statements.filter((s) => s.kind === 'pooler').map((s) => s.database));
    expect(pooled).to.include.members(['postgres', outside, `${p}appdb`]);

    // the pooler user, and only it, may look up password hashes
    const client = await adminClient(outside);
    try {
      await client.query(`SET ROLE ${quoteIdent(`${p}bouncer`)}`);
      const { rows } = await client.query<{ uname: string; phash: string }>(
        `SELECT * FROM ${quoteIdent(`${p}pgbouncer`)}.user_lookup($1)`,
        [app],
      );
      expect(rows[0]?.uname).to.equal(app);
      expect(rows[0]?.phash).to.match(/^SCRAM-SHA-256\$4096:/);
      await client.query(`SET ROLE ${quoteIdent(app)}`);
      const denied = await client.query(`SELECT * FROM ${quoteIdent(`${p}pgbouncer`)}.user_lookup($1)`, [app]).then(
        () => 'allowed',
        (e: Error) => e.message,
      );
      expect(denied).to.match(/permission denied/);
    } finally {
      await client.end();
    }

    const later = `${p}later`;
    await query(`CREATE DATABASE ${quoteIdent(later)}`);
    const next = await sync({ cluster, config, secrets });
    expect(next.report.plan.statements.map((s) => s.database)).to.deep.equal([later, later, later, later, later]);
    expect((await sync({ cluster, config, secrets })).report.plan.statements).to.have.length(0);
  });

  it('hashes with md5 when password_encryption says so, and back to SCRAM when it no longer does', async () => {
    const app = `${p}app`;
    const secrets = new SecretStore();
    const md5 = testCluster(p, { users: { [app]: [] }, postgresql: { version: '15', parameters: { password_encryption: 'md5' } } });
    await sync({ cluster: md5, config, secrets });
    const stored = async (): Promise<string> =>
      (await query<{ p: string }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [app]))[0]?.p ?? '';
    expect(await stored()).to.match(/^md5[0-9a-f]{32}$/);
    expect((await sync({ cluster: md5, config, secrets })).report.plan.statements).to.have.length(0);
    await sync({ cluster: testCluster(p, { users: { [app]: [] } }), config, secrets });
    expect(await stored()).to.match(/^SCRAM-SHA-256\$/);
    expect(await canLogin(app, secrets.secrets.get(app)?.password ?? '')).to.equal(true);
  });

  it('grants additional owner roles to owners, revoking a reverse membership first', async () => {
    const owner = `${p}owner`;
    const cron = `${p}cron_admin`;
    await query(`CREATE ROLE ${quoteIdent(owner)} LOGIN`);
    await query(`GRANT ${quoteIdent(owner)} TO ${quoteIdent(cron)}`);
    const cluster = testCluster(p, { users: { [owner]: [] }, databases: { [`${p}db`]: owner } });
    await sync({ cluster, config: testConfig(p, { additionalOwnerRoles: [cron] }), secrets: new SecretStore() });
    expect(await memberships(owner)).to.include(cron);
    expect(await memberships(cron)).not.to.include(owner);
  });

  it('changes the owner of a manifest database', async () => {
    const [a, b] = [`${p}alice`, `${p}bob`];
    const secrets = new SecretStore();
    await sync({ cluster: testCluster(p, { users: { [a]: [], [b]: [] }, databases: { [`${p}db`]: a } }), config, secrets });
    const moved = await sync({ cluster: testCluster(p, { users: { [a]: [], [b]: [] }, databases: { [`${p}db`]: b } }), config, secrets });
    expect(moved.report.plan.statements.map((s) => s.display)).to.deep.equal([
      `ALTER DATABASE ${quoteIdent(`${p}db`)} OWNER TO ${quoteIdent(b)}`,
    ]);
  });

  it('plans without touching anything in a dry run, reports progress, and keeps going past a failed statement', async () => {
    const cluster = testCluster(p, {
      users: { [`${p}app`]: [] },
      preparedDatabases: { [`${p}shop`]: { extensions: { pgfn_no_such_extension: 'public', pgcrypto: 'data' } } },
    });
    const secrets = new SecretStore();
    const dry = await runSync({ cluster, config, secrets, options: { dryRun: true } });
    expect(dry.report.execution).to.equal(undefined);
    expect(dry.report.plan.statements.length).to.be.greaterThan(10);
    expect(await roleFlags(`${p}app`)).to.equal(undefined);

    const events: ProgressEvent[] = [];
    const wet = await runSync({ cluster, config, secrets, options: { onProgress: (e) => events.push(e) } });
    const total = wet.report.plan.statements.length;
    expect(events.filter((e) => e.outcome === 'done')).to.have.length(total - 1);
    expect(events.map((e) => e.index)).to.deep.equal(Array.from({ length: total }, (_, i) => i + 1));
    expect(wet.report.execution?.errors.map((e) => [e.statement.kind, e.sqlState])).to.deep.equal([['create-extension', '0A000']]);
    expect(await query<{ extname: string }>("SELECT extname FROM pg_extension WHERE extname = 'pgcrypto'", [], `${p}shop`)).to.have.length(
      1,
    );
  });

  it('reads a single-quoted setting as upstream does (the quotes delimit the value) and still only quotes it', async () => {
    const robot = `${p}robot`;
    // upstream passes a value in single quotes to SQL as it is; Postgres then stores what is inside
    const value = `'it''s; DROP ROLE ${p}admin; SELECT '`;
    await sync({
      cluster: testCluster(p),
      config,
      secrets: new SecretStore(),
      infrastructureRoles: [{ name: robot, password: 'x', parameters: { application_name: value } }],
    });
    expect(await settings(robot)).to.deep.equal([`application_name=it's; DROP ROLE ${p}admin; SELECT `]);
    expect(await roleFlags(`${p}admin`)).to.not.equal(undefined);
  });
});
