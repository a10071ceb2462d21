import { expect } from 'chai';
import {
  defaultAclKey,
  md5Password,
  planSync,
  scramSha256,
  USER_LOOKUP_BODY,
  type CurrentRole,
  type CurrentState,
  type DatabaseObjects,
  type DesiredRole,
  type DesiredState,
  type FlagSet,
  type Plan,
} from '@pgfn/roles';
import { seededRandom } from './helpers.js';

const random = seededRandom();
const ALL_FALSE = {
  SUPERUSER: false,
  INHERIT: true,
  LOGIN: false,
  CREATEROLE: false,
  CREATEDB: false,
  REPLICATION: false,
  BYPASSRLS: false,
};

function role(
  name: string,
  more: Partial<Omit<CurrentRole, 'flags' | 'parameters'>> & { flags?: FlagSet; parameters?: Record<string, string> } = {},
): [string, CurrentRole] {
  return [
    name,
    {
      name,
      password: more.password ?? null,
      memberOf: more.memberOf ?? [],
      flags: { ...ALL_FALSE, ...more.flags },
      parameters: new Map(Object.entries(more.parameters ?? {})),
    },
  ];
}

function desired(more: Partial<DesiredState> = {}): DesiredState {
  return {
    roles: [],
    databases: [],
    schemas: [],
    schemaUsage: [],
    defaultPrivileges: [],
    extensions: [],
    rotationCleanup: [],
    passwordEncryption: 'scram-sha-256',
    ...more,
  };
}

function objects(more: Partial<DatabaseObjects> = {}): DatabaseObjects {
  return {
    schemas: new Map([['public', { name: 'public', owner: 'pg_database_owner', usage: ['PUBLIC'] }]]),
    extensions: new Map(),
    defaultPrivileges: new Set(),
    ...more,
  };
}

function current(roles: [string, CurrentRole][] = [], more: Partial<CurrentState> = {}): CurrentState {
  return {
    roles: new Map(roles),
    databases: new Map([['postgres', { name: 'postgres', owner: 'postgres', allowConnections: true, isTemplate: false }]]),
    objects: new Map([['postgres', objects()]]),
    ...more,
  };
}

const sqls = (plan: Plan): string[] => plan.statements.map((s) => s.display);
const r = (name: string, more: Partial<DesiredRole> = {}): DesiredRole => ({ name, flags: {}, memberOf: [], admins: [], ...more });

describe('planSync', () => {
  describe('roles', () => {
    const hash = scramSha256('secret', random(16));
    const cases: { name: string; want: DesiredRole[]; have: [string, CurrentRole][]; sql: string[]; encryption?: 'md5' }[] = [
      {
        name: 'creates a missing role with its flags',
        want: [r('app', { flags: { LOGIN: true, CREATEDB: true } })],
        have: [],
        sql: ['CREATE ROLE "app" WITH LOGIN CREATEDB'],
      },
      { name: 'creates a NOLOGIN role', want: [r('grp', { flags: { LOGIN: false } })], have: [], sql: ['CREATE ROLE "grp" WITH NOLOGIN'] },
      { name: 'creates a role without flags plainly', want: [r('x')], have: [], sql: ['CREATE ROLE "x"'] },
      {
        name: 'hashes the password and redacts it',
        want: [r('app', { flags: { LOGIN: true }, password: 'secret' })],
        have: [],
        sql: ['CREATE ROLE "app" WITH LOGIN PASSWORD \'<redacted>\''],
      },
      {
        name: 'leaves a matching role alone',
        want: [r('app', { flags: { LOGIN: true }, password: 'secret' })],
        have: [role('app', { flags: { LOGIN: true }, password: hash })],
        sql: [],
      },
      {
        name: 'restores a flag removed by hand',
        want: [r('app', { flags: { LOGIN: true, CREATEDB: true } })],
        have: [role('app', { flags: { LOGIN: true } })],
        sql: ['ALTER ROLE "app" WITH CREATEDB'],
      },
      {
        name: 'enforces a NO flag',
        want: [r('grp', { flags: { LOGIN: false } })],
        have: [role('grp', { flags: { LOGIN: true } })],
        sql: ['ALTER ROLE "grp" WITH NOLOGIN'],
      },
      {
        name: 'never strips an undeclared flag',
        want: [r('app', { flags: { LOGIN: true } })],
        have: [role('app', { flags: { LOGIN: true, SUPERUSER: true, CREATEROLE: true } })],
        sql: [],
      },
      {
        name: 'sets a changed password',
        want: [r('app', { password: 'other' })],
        have: [role('app', { password: hash })],
        sql: ['ALTER ROLE "app" WITH PASSWORD \'<redacted>\''],
      },
      {
        name: 'sets a password where there was none',
        want: [r('app', { password: 'secret' })],
        have: [role('app')],
        sql: ['ALTER ROLE "app" WITH PASSWORD \'<redacted>\''],
      },
      { name: 'keeps a password nobody declared', want: [r('app')], have: [role('app', { password: hash })], sql: [] },
      {
        name: 're-hashes for md5',
        want: [r('app', { password: 'secret' })],
        have: [role('app', { password: hash })],
        sql: ['ALTER ROLE "app" WITH PASSWORD \'<redacted>\''],
        encryption: 'md5',
      },
      {
        name: 'accepts an md5 hash under md5',
        want: [r('app', { password: 'secret' })],
        have: [role('app', { password: md5Password('secret', 'app') })],
        sql: [],
        encryption: 'md5',
      },
      { name: 'quotes hostile names', want: [r('a"b; DROP ROLE x; --')], have: [], sql: ['CREATE ROLE "a""b; DROP ROLE x; --"'] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const plan = planSync(desired({ roles: c.want, passwordEncryption: c.encryption ?? 'scram-sha-256' }), current(c.have), random);
        expect(sqls(plan)).to.deep.equal(c.sql);
      });
    }
    it('puts the hash, never the password, into the SQL', () => {
      const plan = planSync(desired({ roles: [r('app', { password: 'pa$$' })] }), current(), random);
      expect(plan.statements[0]?.sql).to.match(/PASSWORD 'SCRAM-SHA-256\$4096:[^']+'$/);
      expect(plan.statements[0]?.sql).not.to.include('pa$$');
    });
  });

  describe('settings', () => {
    const cases: { name: string; want?: Record<string, string>; have: Record<string, string>; sql: string[] }[] = [
      {
        name: 'sets a list setting as quoted names',
        want: { search_path: '"$user", "data"' },
        have: {},
        sql: ['ALTER ROLE "app" SET search_path TO "$user", "data"'],
      },
      {
        name: 'compares lists by element, not text',
        want: { search_path: '"$user", "data"' },
        have: { search_path: '"$user", data' },
        sql: [],
      },
      {
        name: 'strips the YAML single quotes of a list',
        want: { search_path: '\'"$user", data\'' },
        have: { search_path: '"$user", data' },
        sql: [],
      },
      {
        name: 'changes a different list',
        want: { search_path: '"$user", "data"' },
        have: { search_path: 'public' },
        sql: ['ALTER ROLE "app" SET search_path TO "$user", "data"'],
      },
      { name: 'quotes a scalar value', want: { log_statement: 'all' }, have: {}, sql: ['ALTER ROLE "app" SET log_statement TO \'all\''] },
      {
        name: 'keeps a hostile value inside its literal',
        want: { application_name: "x'; DROP ROLE y; --" },
        have: {},
        sql: ["ALTER ROLE \"app\" SET application_name TO 'x''; DROP ROLE y; --'"],
      },
      {
        name: 'treats upstream-quoted values as the value inside',
        want: { log_statement: "'all'" },
        have: { log_statement: 'all' },
        sql: [],
      },
      {
        name: 'keeps settings nobody declared beside declared ones',
        want: { log_statement: 'all' },
        have: { log_statement: 'all', work_mem: '1GB' },
        sql: [],
      },
      { name: 'leaves the settings of a role that declares none', have: { work_mem: '1GB' }, sql: [] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const plan = planSync(
          desired({ roles: [r('app', c.want ? { parameters: c.want } : {})] }),
          current([role('app', { parameters: c.have })]),
          random,
        );
        expect(sqls(plan)).to.deep.equal(c.sql);
      });
    }
    it('copies the settings of the base role to its rotation user', () => {
      const plan = planSync(
        desired({ roles: [r('app'), r('app261121', { memberOf: ['app'], parametersFrom: 'app' })] }),
        current([role('app', { parameters: { search_path: '"$user", data', statement_timeout: '5s' } })]),
        random,
      );
      expect(sqls(plan)).to.deep.equal([
        'CREATE ROLE "app261121"',
        'ALTER ROLE "app261121" SET search_path TO "$user", "data"',
        'ALTER ROLE "app261121" SET statement_timeout TO \'5s\'',
        'GRANT "app" TO "app261121"',
      ]);
    });
  });

  describe('memberships', () => {
    it('grants what is missing and warns about groups that do not exist', () => {
      const plan = planSync(
        desired({ roles: [r('app', { memberOf: ['readers', 'ghost'] })] }),
        current([role('app'), role('readers')]),
        random,
      );
      expect(sqls(plan)).to.deep.equal(['GRANT "readers" TO "app"']);
      expect(plan.warnings).to.deep.equal(['role "app" should be a member of "ghost", which does not exist']);
    });
    it('leaves existing memberships alone and never revokes', () => {
      const plan = planSync(
        desired({ roles: [r('app', { memberOf: ['readers'] })] }),
        current([
          role('app', {
            memberOf: [
              { role: 'readers', admin: false },
              { role: 'other', admin: false },
            ],
          }),
          role('readers'),
          role('other'),
        ]),
        random,
      );
      expect(sqls(plan)).to.deep.equal([]);
    });
    it('gives the admin role ADMIN OPTION, also on an existing plain membership', () => {
      expect(
        sqls(planSync(desired({ roles: [r('db_owner', { admins: ['admin'] })] }), current([role('db_owner'), role('admin')]), random)),
      ).to.deep.equal(['GRANT "db_owner" TO "admin" WITH ADMIN OPTION']);
      expect(
        sqls(
          planSync(
            desired({ roles: [r('db_owner', { admins: ['admin'] })] }),
            current([role('db_owner'), role('admin', { memberOf: [{ role: 'db_owner', admin: false }] })]),
            random,
          ),
        ),
      ).to.deep.equal(['GRANT "db_owner" TO "admin" WITH ADMIN OPTION']);
      expect(
        sqls(
          planSync(
            desired({ roles: [r('db_owner', { admins: ['admin'] })] }),
            current([role('db_owner'), role('admin', { memberOf: [{ role: 'db_owner', admin: true }] })]),
            random,
          ),
        ),
      ).to.deep.equal([]);
    });
    it('revokes a reverse membership before a grant that would be circular (upstream resolveOwnerMembership)', () => {
      const plan = planSync(
        desired({ roles: [r('foo_owner', { memberOf: ['cron_admin'] })] }),
        current([role('foo_owner'), role('cron_admin', { memberOf: [{ role: 'foo_owner', admin: true }] })]),
        random,
      );
      expect(sqls(plan)).to.deep.equal(['REVOKE "foo_owner" FROM "cron_admin"', 'GRANT "cron_admin" TO "foo_owner"']);
    });
  });

  describe('rotation cleanup', () => {
    const member = { memberOf: [{ role: 'app', admin: false }] };
    const have = current([
      role('app'),
      role('app260101', member),
      role('app260801', member),
      role('app261120', member),
      role('app250101'),
      role('app251212', member),
      role('other260101', { memberOf: [{ role: 'other', admin: false }] }),
    ]);
    const plan = planSync(
      desired({
        roles: [r('app'), r('app251212')],
        rotationCleanup: [{ base: 'app', keep: ['app261120'], createdBefore: new Date('2026-06-01T00:00:00Z') }],
      }),
      have,
      random,
    );
    it('drops rotation users of the base created before the retention date', () => {
      expect(plan.statements.filter((s) => s.kind === 'drop-role').map((s) => s.sql)).to.deep.equal(['DROP ROLE IF EXISTS "app260101"']);
    });
    it('marks drops optional: a rotation user that still owns objects stays', () => {
      expect(plan.statements.find((s) => s.kind === 'drop-role')?.optional).to.equal(true);
    });
  });

  describe('databases', () => {
    const owners: [string, CurrentRole][] = [role('alice'), role('bob')];
    it('creates missing databases once their owner exists, and warns otherwise', () => {
      const plan = planSync(
        desired({
          databases: [
            { name: 'app', owner: 'alice', enforceOwner: true },
            { name: 'lost', owner: 'nobody', enforceOwner: true },
          ],
        }),
        current(owners),
        random,
      );
      expect(sqls(plan)).to.deep.equal(['CREATE DATABASE "app" OWNER "alice"']);
      expect(plan.warnings).to.deep.equal(['database "lost" is skipped: its owner "nobody" does not exist']);
    });
    it('changes the owner of a manifest database, not of a prepared one', () => {
      const dbs = new Map([
        ...current().databases,
        ['app', { name: 'app', owner: 'bob', allowConnections: true, isTemplate: false }],
        ['prep', { name: 'prep', owner: 'bob', allowConnections: true, isTemplate: false }],
      ]);
      const plan = planSync(
        desired({
          databases: [
            { name: 'app', owner: 'alice', enforceOwner: true },
            { name: 'prep', owner: 'alice', enforceOwner: false },
          ],
        }),
        current(owners, { databases: dbs }),
        random,
      );
      expect(sqls(plan)).to.deep.equal(['ALTER DATABASE "app" OWNER TO "alice"']);
    });
  });

  describe('inside a database', () => {
    const roles: [string, CurrentRole][] = ['d_owner', 'd_reader', 'd_writer', 'pooler', 'postgres'].map((n) => role(n));
    const dbs = new Map([...current().databases, ['d', { name: 'd', owner: 'd_owner', allowConnections: true, isTemplate: false }]]);
    const have = (o: Partial<DatabaseObjects>): CurrentState =>
      current(roles, {
        databases: dbs,
        objects: new Map([
          ['postgres', objects()],
          ['d', objects(o)],
        ]),
      });
    const want = desired({
      schemas: [{ database: 'd', name: 'data', owner: 'd_owner' }],
      schemaUsage: [{ database: 'd', schema: 'data', grantees: ['d_reader', 'd_writer'] }],
      defaultPrivileges: [
        { database: 'd', owner: 'd_owner', schema: 'data', object: 'tables', privileges: ['SELECT'], grantees: ['d_reader', 'd_writer'] },
      ],
      extensions: [{ database: 'd', name: 'pgcrypto', schema: 'data' }],
    });

    it('creates schema, grants, default privileges and extensions in order', () => {
      const plan = planSync(want, have({}), random);
      expect(plan.statements.map((s) => [s.database, s.display])).to.deep.equal([
        ['d', 'CREATE SCHEMA IF NOT EXISTS "data" AUTHORIZATION "d_owner"'],
        ['d', 'GRANT USAGE ON SCHEMA "data" TO "d_reader", "d_writer"'],
        ['d', 'ALTER DEFAULT PRIVILEGES FOR ROLE "d_owner" IN SCHEMA "data" GRANT SELECT ON TABLES TO "d_reader", "d_writer"'],
        ['d', 'CREATE EXTENSION IF NOT EXISTS "pgcrypto" SCHEMA "data"'],
      ]);
    });
    it('grants only what is missing and moves an extension to its schema', () => {
      const plan = planSync(
        want,
        have({
          schemas: new Map([['data', { name: 'data', owner: 'd_owner', usage: ['d_owner', 'd_reader'] }]]),
          defaultPrivileges: new Set([
            defaultAclKey({ owner: 'd_owner', schema: 'data', objtype: 'r', grantee: 'd_reader', privilege: 'SELECT' }),
          ]),
          extensions: new Map([['pgcrypto', 'public']]),
        }),
        random,
      );
      expect(sqls(plan)).to.deep.equal([
        'GRANT USAGE ON SCHEMA "data" TO "d_writer"',
        'ALTER DEFAULT PRIVILEGES FOR ROLE "d_owner" IN SCHEMA "data" GRANT SELECT ON TABLES TO "d_writer"',
        'ALTER EXTENSION "pgcrypto" SET SCHEMA "data"',
      ]);
    });
    it('needs nothing when everything is there', () => {
      const plan = planSync(
        want,
        have({
          schemas: new Map([['data', { name: 'data', owner: 'd_owner', usage: ['d_reader', 'd_writer'] }]]),
          defaultPrivileges: new Set(
            ['d_reader', 'd_writer'].map((g) =>
              defaultAclKey({ owner: 'd_owner', schema: 'data', objtype: 'r', grantee: g, privilege: 'SELECT' }),
            ),
          ),
          extensions: new Map([['pgcrypto', 'data']]),
        }),
        random,
      );
      expect(sqls(plan)).to.deep.equal([]);
    });
    it('plans a database created by this sync as a copy of template1', () => {
      const state = current(roles, {
        objects: new Map([
          ['postgres', objects()],
          ['template1', objects()],
        ]),
      });
      const plan = planSync(desired({ ...want, databases: [{ name: 'd', owner: 'd_owner', enforceOwner: false }] }), state, random);
      expect(sqls(plan)[0]).to.equal('CREATE DATABASE "d" OWNER "d_owner"');
      expect(plan.statements.filter((s) => s.database === 'd')).to.have.length(4);
    });
    it('refuses to plan a database whose state was not read', () => {
      expect(() => planSync(want, current(roles, { databases: dbs }), random)).to.throw(/state of database "d" was not read/);
    });
  });

  describe('pooler lookup', () => {
    const roles: [string, CurrentRole][] = [role('pooler'), role('postgres')];
    const dbs = new Map([
      ...current().databases,
      ['other', { name: 'other', owner: 'postgres', allowConnections: true, isTemplate: false }],
      ['template1', { name: 'template1', owner: 'postgres', allowConnections: true, isTemplate: true }],
      ['closed', { name: 'closed', owner: 'postgres', allowConnections: false, isTemplate: false }],
    ]);
    const good = objects({
      schemas: new Map([['pooler', { name: 'pooler', owner: 'postgres', usage: ['postgres', 'pooler'] }]]),
      poolerFunction: {
        source: USER_LOOKUP_BODY,
        securityDefiner: true,
        config: ['search_path=pg_catalog, pg_temp'],
        owner: 'postgres',
        executors: ['postgres', 'pooler'],
      },
    });
    const want = desired({ pooler: { schema: 'pooler', user: 'pooler' } });

    it('installs schema, function and grants into every database that takes connections', () => {
      const plan = planSync(
        want,
        current(roles, {
          databases: dbs,
          objects: new Map([
            ['postgres', objects()],
            ['other', objects()],
          ]),
        }),
        random,
      );
      expect([...new Set(plan.statements.map((s) => s.database))]).to.deep.equal(['other', 'postgres']);
      expect(
        plan.statements.filter((s) => s.database === 'other').map((s) => s.display.replace(/AS \$pgfn_lookup\$.*/, 'AS …')),
      ).to.deep.equal([
        'CREATE SCHEMA IF NOT EXISTS "pooler"',
        'CREATE OR REPLACE FUNCTION "pooler".user_lookup(i_username text, OUT uname text, OUT phash text) RETURNS record ' +
          'LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS …',
        'REVOKE ALL ON FUNCTION "pooler".user_lookup(text) FROM PUBLIC',
        'GRANT EXECUTE ON FUNCTION "pooler".user_lookup(text) TO "pooler"',
        'GRANT USAGE ON SCHEMA "pooler" TO "pooler"',
      ]);
    });
    it('needs nothing where it is complete, and only the missing revoke where PUBLIC may call it', () => {
      const open = { ...good, poolerFunction: { ...good.poolerFunction!, executors: ['PUBLIC', 'postgres', 'pooler'] } };
      const plan = planSync(
        want,
        current(roles, {
          databases: dbs,
          objects: new Map([
            ['postgres', good],
            ['other', open],
          ]),
        }),
        random,
      );
      expect(plan.statements.map((s) => [s.database, s.display])).to.deep.equal([
        ['other', 'REVOKE ALL ON FUNCTION "pooler".user_lookup(text) FROM PUBLIC'],
      ]);
    });
    it('replaces an upstream-style function whose body differs', () => {
      const old = { ...good, poolerFunction: { ...good.poolerFunction!, source: 'BEGIN … END', config: [] } };
      const plan = planSync(
        want,
        current(roles, {
          databases: dbs,
          objects: new Map([
            ['postgres', good],
            ['other', old],
          ]),
        }),
        random,
      );
      expect(plan.statements.map((s) => s.kind)).to.deep.equal(['pooler']);
      expect(plan.statements[0]?.sql).to.match(/^CREATE OR REPLACE FUNCTION/);
    });
  });

  it('orders creates, alters, settings, grants, databases, drops, then per-database work', () => {
    const plan = planSync(
      desired({
        roles: [r('b', { memberOf: ['a'], parameters: { work_mem: '1MB' } }), r('a', { flags: { CREATEDB: true } })],
        databases: [{ name: 'db', owner: 'b', enforceOwner: true }],
        schemas: [{ database: 'db', name: 's', owner: 'b' }],
        rotationCleanup: [{ base: 'a', keep: [], createdBefore: new Date('2030-01-01T00:00:00Z') }],
      }),
      current([role('a'), role('a200101', { memberOf: [{ role: 'a', admin: false }] })], {
        objects: new Map([
          ['postgres', objects()],
          ['template1', objects()],
        ]),
      }),
      random,
    );
    expect(plan.statements.map((s) => s.kind)).to.deep.equal([
      'create-role',
      'alter-role',
      'role-setting',
      'grant-role',
      'create-database',
      'drop-role',
      'create-schema',
    ]);
  });
});
