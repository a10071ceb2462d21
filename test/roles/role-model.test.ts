import { expect } from 'chai';
import { buildRoleModel, formatFlags, poolerUserName, type InfrastructureRoleInput, type RoleSpec } from '@pgfn/roles';
import { testCluster, testConfig, type TestSpec } from './helpers.js';

const p = 't_';
const config = testConfig(p);
const model = (spec: TestSpec, infrastructureRoles: InfrastructureRoleInput[] = [], overrides = {}) =>
  buildRoleModel({ cluster: testCluster(p, spec), config: testConfig(p, overrides), infrastructureRoles });
const role = (m: ReturnType<typeof model>, name: string): RoleSpec => {
  const r = m.roles.get(name);
  if (r === undefined) throw new Error(`no role ${name}; have ${[...m.roles.keys()].join(', ')}`);
  return r;
};

describe('buildRoleModel', () => {
  describe('system users', () => {
    it('always has the superuser and the replication user, with Secrets', () => {
      const m = model({});
      expect([...m.roles.keys()].sort()).to.deep.equal([`${p}postgres`, `${p}standby`]);
      expect(role(m, `${p}postgres`)).to.include({ origin: 'system', systemKey: 'superuser', secretNamespace: 'default' });
      expect(formatFlags(role(m, `${p}standby`).flags)).to.equal('LOGIN REPLICATION');
    });
    it('adds the pooler user only when a pooler runs', () => {
      for (const [spec, want] of [
        [{}, false],
        [{ enableConnectionPooler: false }, false],
        [{ enableConnectionPooler: true }, true],
        [{ connectionPooler: {} }, true],
        [{ connectionPooler: {}, enableConnectionPooler: false }, false],
        [{ enableReplicaConnectionPooler: true }, true],
      ] as [TestSpec, boolean][]) {
        expect(model(spec).roles.has(`${p}pooler`), JSON.stringify(spec)).to.equal(want);
      }
    });
    it('never makes the superuser, a protected or a system role the pooler user (upstream TestInitSystemUsers)', () => {
      for (const user of [`${p}postgres`, `${p}admin`, `${p}standby`]) {
        expect(poolerUserName({ connectionPooler: { user } }, config)).to.equal(`${p}pooler`);
      }
      expect(poolerUserName({ connectionPooler: { user: 'bouncer' } }, config)).to.equal('bouncer');
      expect(role(model({ connectionPooler: { user: 'bouncer' } }), 'bouncer')).to.include({ origin: 'connection-pooler' });
    });
    it('adds fes_user only with streams', () => {
      expect(model({ users: { fes_user: [] } }).roles.get('fes_user')?.origin).to.equal('manifest');
      const streams = [{ applicationId: 'a', database: 'd', tables: { t: { eventType: 'e' } } }];
      expect(role(model({ streams }), 'fes_user').origin).to.equal('stream');
    });
  });

  describe('manifest users (upstream TestInitRobotUsers)', () => {
    it('lets an infrastructure role win over a manifest user of the same name', () => {
      const m = model({ users: { foo: ['superuser', 'createdb'] } }, [{ name: 'foo', password: 'bar' }]);
      expect(role(m, 'foo')).to.include({ origin: 'infrastructure', password: 'bar' });
    });
    const rejected: [string, TestSpec['users'], RegExp][] = [
      ['forbidden characters', { '!fooBar': ['superuser', 'createdb'] }, /the user name is not a valid role name/],
      ['an unknown flag', { foobar: ['!superuser', 'createdb'] }, /user flag "!superuser" is not alphanumeric/],
      ['an unknown flag, part 2', { foobar: ['superuser1', 'createdb'] }, /user flag "SUPERUSER1" is not valid/],
      ['conflicting flags', { foobar: ['inherit', 'noinherit'] }, /conflicting user flags: "NOINHERIT" and "INHERIT"/],
      ['a name longer than 63 bytes', { ['u'.repeat(64)]: [] }, /64 bytes long/],
      ['an injection attempt', { 'x"; DROP ROLE postgres; --': [] }, /not a valid role name/],
    ];
    for (const [what, users, message] of rejected) {
      it(`reports and skips a user with ${what}`, () => {
        const m = model({ users });
        expect(m.problems.map((x) => `${x.level} ${x.path}: ${x.message}`).join('\n')).to.match(message);
        expect(m.problems[0]?.level).to.equal('error');
        expect(m.roles.size).to.equal(2);
      });
    }
    it('ignores users named like system users or protected roles, with a warning', () => {
      const m = model({
        users: { [`${p}postgres`]: ['createdb'], [`${p}standby`]: ['replication'], [`${p}admin`]: ['superuser'], [`${p}pooler`]: [] },
        enableConnectionPooler: true,
      });
      expect(role(m, `${p}postgres`).origin).to.equal('system');
      expect(m.roles.has(`${p}admin`)).to.equal(false);
      expect(role(m, `${p}pooler`).origin).to.equal('connection-pooler');
      expect(m.problems.filter((x) => x.level === 'warning')).to.have.length(4);
    });
    it('makes LOGIN roles with the team admin as admin and a Secret', () => {
      const m = model({ users: { zalando: ['superuser', 'createdb'], migrator: ['nologin'] } });
      expect(formatFlags(role(m, 'zalando').flags)).to.equal('SUPERUSER LOGIN CREATEDB');
      expect(role(m, 'zalando')).to.include({ adminRole: `${p}admin`, secretNamespace: 'default', isDbOwner: false });
      // upstream keeps a Secret for NOLOGIN manifest users too
      expect(role(m, 'migrator')).to.include({ secretNamespace: 'default' });
      expect(formatFlags(role(m, 'migrator').flags)).to.equal('NOLOGIN');
    });
    it('leaves the admin role out when enable_admin_role_for_users is off', () => {
      expect(role(model({ users: { app: [] } }, [], { enableAdminRoleForUsers: false }), 'app').adminRole).to.equal(undefined);
    });
    it('puts the Secret of ns.user into namespace ns with cross-namespace secrets (upstream TestCrossNamespacedSecrets)', () => {
      expect(
        role(model({ users: { 'appspace.db_user': [] } }, [], { enableCrossNamespaceSecret: true }), 'appspace.db_user').secretNamespace,
      ).to.equal('appspace');
      expect(role(model({ users: { 'appspace.db_user': [] } }), 'appspace.db_user').secretNamespace).to.equal('default');
    });
  });

  describe('additional owner roles (upstream TestInitAdditionalOwnerRoles)', () => {
    it('grants them to database owners only', () => {
      const m = model(
        { users: { foo_owner: [], bar_owner: [], app_user: [] }, databases: { foo_db: 'foo_owner', bar_db: 'bar_owner' } },
        [],
        { additionalOwnerRoles: ['cron_admin', 'part_man'] },
      );
      expect(role(m, 'foo_owner').memberOf).to.deep.equal(['cron_admin', 'part_man']);
      expect(role(m, 'bar_owner').memberOf).to.deep.equal(['cron_admin', 'part_man']);
      expect(role(m, 'app_user').memberOf).to.deep.equal([]);
    });
    it('grants them to prepared database owners too', () => {
      const m = model({ preparedDatabases: { foo: { defaultUsers: true } } }, [], { additionalOwnerRoles: ['cron_admin'] });
      expect(role(m, 'foo_owner').memberOf).to.deep.equal(['cron_admin']);
      expect(role(m, 'foo_owner_user').memberOf).to.deep.equal(['foo_owner', 'cron_admin']);
      expect(role(m, 'foo_reader').memberOf).to.deep.equal([]);
    });
  });

  describe('prepared databases (upstream TestPreparedDatabases)', () => {
    it('makes a database named like the cluster with a data schema from preparedDatabases: {}', () => {
      const m = model({ preparedDatabases: {} });
      for (const name of [
        't_acid_owner',
        't_acid_reader',
        't_acid_writer',
        't_acid_data_owner',
        't_acid_data_reader',
        't_acid_data_writer',
      ]) {
        expect(m.roles.has(name), name).to.equal(true);
      }
    });
    const m = model({ preparedDatabases: { foo: { defaultUsers: true, schemas: { bar: { defaultUsers: true } } } } });
    it('makes roles and users for the database and each schema', () => {
      for (const name of [
        'foo_owner',
        'foo_reader',
        'foo_writer',
        'foo_owner_user',
        'foo_reader_user',
        'foo_writer_user',
        'foo_bar_owner',
        'foo_bar_reader',
        'foo_bar_writer',
        'foo_bar_owner_user',
        'foo_bar_reader_user',
        'foo_bar_writer_user',
      ]) {
        expect(m.roles.has(name), name).to.equal(true);
      }
    });
    const table: [string, string[], string, string, boolean][] = [
      ['foo_owner', [], 'admin', 'NOLOGIN', false],
      ['foo_writer', ['foo_reader'], 'foo_owner', 'NOLOGIN', false],
      ['foo_reader_user', ['foo_reader'], 'foo_owner', 'LOGIN', true],
      ['foo_owner_user', ['foo_owner'], 'admin', 'LOGIN', true],
      ['foo_bar_owner', [], 'foo_owner', 'NOLOGIN', false],
      ['foo_bar_writer_user', ['foo_bar_writer'], 'foo_bar_owner', 'LOGIN', true],
    ];
    for (const [name, memberOf, admin, flags, secret] of table) {
      it(`${name}: member of ${JSON.stringify(memberOf)}, admin ${admin}, ${flags}`, () => {
        const r = role(m, name);
        expect(r.memberOf).to.deep.equal(memberOf);
        expect(r.adminRole).to.equal(admin);
        expect(formatFlags(r.flags)).to.equal(flags);
        expect(r.secretNamespace !== undefined).to.equal(secret);
        expect(r.origin).to.equal('bootstrap');
      });
    }
    it('sets search_path to the role, then the schemas', () => {
      expect(role(m, 'foo_reader').parameters).to.deep.equal({ search_path: '"$user", "bar"' });
      expect(role(m, 'foo_bar_reader').parameters).to.deep.equal({ search_path: '"$user", "bar"' });
      const two = model({ preparedDatabases: { foo: { schemas: { zeta: {}, alpha: { defaultRoles: false } } } } });
      expect(role(two, 'foo_owner').parameters).to.deep.equal({ search_path: '"$user", "alpha", "zeta"' });
      expect(two.roles.has('foo_alpha_owner')).to.equal(false);
    });
    it('makes no schema users when the schema has no default roles', () => {
      const none = model({ preparedDatabases: { foo: { schemas: { bar: { defaultRoles: false, defaultUsers: true } } } } });
      expect([...none.roles.keys()].filter((n) => n.startsWith('foo_bar'))).to.deep.equal([]);
    });
    it('keeps Secrets in secretNamespace only with cross-namespace secrets', () => {
      const spec = { preparedDatabases: { foo: { defaultUsers: true, secretNamespace: 'apps' } } };
      expect(role(model(spec, [], { enableCrossNamespaceSecret: true }), 'foo_owner_user').secretNamespace).to.equal('apps');
      const plain = model(spec);
      expect(role(plain, 'foo_owner_user').secretNamespace).to.equal('default');
      expect(plain.problems[0]?.message).to.match(/enable_cross_namespace_secret/);
    });
    it('rejects database and schema names that are invalid or make too long role names', () => {
      const bad = model({
        preparedDatabases: {
          'bad-name': {},
          ['d'.repeat(52)]: { defaultUsers: true },
          ok: { schemas: { 'x y': {}, ['s'.repeat(55)]: {} } },
        },
      });
      expect(bad.problems.map((x) => x.path)).to.deep.equal([
        'spec.preparedDatabases["bad-name"]',
        `spec.preparedDatabases["${'d'.repeat(52)}"]`,
        `spec.preparedDatabases["ok"].schemas["${'s'.repeat(55)}"]`,
        'spec.preparedDatabases["ok"].schemas["x y"]',
      ]);
      expect([...bad.roles.keys()].filter((n) => n.startsWith('ok_'))).to.deep.equal(['ok_owner', 'ok_reader', 'ok_writer']);
    });
    it('lets prepared roles win over manifest users of the same name (bootstrap > manifest)', () => {
      const clash = model({ users: { foo_owner: ['createdb'] }, preparedDatabases: { foo: {} } });
      expect(role(clash, 'foo_owner').origin).to.equal('bootstrap');
    });
  });

  describe('infrastructure roles', () => {
    it('takes flags, membership, settings and password as given', () => {
      const m = model({}, [
        { name: 'robot_zmon', password: 'pw', memberOf: ['operator'], flags: ['createdb'], parameters: { log_statement: 'all' } },
      ]);
      const r = role(m, 'robot_zmon');
      expect(r).to.include({ origin: 'infrastructure', password: 'pw', secretNamespace: 'default' });
      expect(formatFlags(r.flags)).to.equal('LOGIN CREATEDB');
      expect(r.memberOf).to.deep.equal(['operator']);
      expect(r.parameters).to.deep.equal({ log_statement: 'all' });
    });
    it('skips invalid, protected and password-less roles and hostile parameter names', () => {
      const m = model({}, [
        { name: 'Bad!', password: 'x' },
        { name: `${p}admin`, password: 'x' },
        { name: 'nopw', password: '' },
        { name: 'ok', password: 'x', parameters: { 'a; DROP ROLE b': '1', work_mem: '64MB' } },
      ]);
      expect([...m.roles.keys()].sort()).to.deep.equal(['ok', `${p}postgres`, `${p}standby`]);
      expect(role(m, 'ok').parameters).to.deep.equal({ work_mem: '64MB' });
      expect(m.problems).to.have.length(4);
    });
  });
});
