import type { V1Secret } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql, PostgresSpec } from '@pgfn/api';
import { buildUserSecrets, desiredUsers, isValidUsername, normalizeUserFlags, type PgUser } from '@pgfn/builder';
import { expect } from 'chai';
import { cluster, config, decode, inputs, NOW, numberedPasswords, secretWith } from './support.js';

const STREAMS: PostgresSpec['streams'] = [
  { applicationId: 'test-app', database: 'test_db', tables: { test_table: { eventType: 'test-app.test' } } },
];
const names = (users: PgUser[]): string[] => users.map((u) => u.name);
const byName = (users: PgUser[], name: string): PgUser | undefined => users.find((u) => u.name === name);
const secretName = (user: string, c = 'acid-test'): string => `${user.replaceAll('_', '-')}.${c}.credentials.postgresql.acid.zalan.do`;

describe('normalizeUserFlags', () => {
  const ok: [string[], string[]][] = [
    [[], ['LOGIN']],
    [['createdb'], ['CREATEDB', 'LOGIN']],
    [
      ['superuser', 'createdb'],
      ['CREATEDB', 'LOGIN', 'SUPERUSER'],
    ],
    [['NOLOGIN'], []],
    [
      ['login', 'CREATEROLE'],
      ['CREATEROLE', 'LOGIN'],
    ],
    [
      ['createdb', 'CREATEDB'],
      ['CREATEDB', 'LOGIN'],
    ],
  ];
  for (const [flags, want] of ok) {
    it(`normalises ${JSON.stringify(flags)} to ${JSON.stringify(want)}`, () => {
      expect(normalizeUserFlags(flags)).to.deep.equal({ ok: true, flags: want });
    });
  }
  // Upstream TestInitRobotUsers error cases.
  const bad: [string[], RegExp][] = [
    [['!superuser', 'createdb'], /"!superuser" is not a single word/],
    [['superuser1', 'createdb'], /"superuser1" is not a role option/],
    [['inherit', 'noinherit'], /INHERIT and NOINHERIT contradict/],
    [['login', 'nologin'], /LOGIN and NOLOGIN contradict/],
  ];
  for (const [flags, reason] of bad) {
    it(`rejects ${JSON.stringify(flags)}`, () => {
      const result = normalizeUserFlags(flags);
      expect(result.ok).to.equal(false);
      if (!result.ok) expect(result.reason).to.match(reason);
    });
  }
});

describe('isValidUsername', () => {
  // Upstream TestValidUsernames.
  for (const name of ['_', '.', '.user', 'appspace.', 'user_', '_user', '-user', 'user-', ',', '-', ',user', 'user,', 'namespace,user']) {
    it(`rejects "${name}"`, () => expect(isValidUsername(name)).to.equal(false));
  }
  for (const name of ['user', 'appspace.user', 'appspace.dot.user', 'user_name', 'app_space.user_name']) {
    it(`accepts "${name}"`, () => expect(isValidUsername(name)).to.equal(true));
  }
});

describe('desiredUsers', () => {
  // Upstream TestInitSystemUsers.
  it('has no pooler or stream user without pooler and streams', () => {
    expect(names(desiredUsers(cluster(), config()))).to.deep.equal(['postgres', 'standby']);
  });
  it('adds the pooler user when a pooler is enabled', () => {
    expect(byName(desiredUsers(cluster({ enableConnectionPooler: true }), config()), 'pooler')?.origin).to.equal('connection-pooler');
  });
  for (const forbidden of ['postgres', 'admin', 'standby']) {
    it(`never lets the pooler log in as "${forbidden}"`, () => {
      const users = desiredUsers(cluster({ connectionPooler: { user: forbidden } }), config());
      expect(byName(users, 'pooler')?.origin).to.equal('connection-pooler');
      expect(byName(users, forbidden)?.origin ?? 'absent').to.not.equal('connection-pooler');
    });
  }
  it('treats fes_user as an ordinary role without streams, and as the stream user with them', () => {
    const spec = { users: { fes_user: [] } };
    expect(byName(desiredUsers(cluster(spec), config()), 'fes_user')?.origin).to.equal('manifest');
    expect(byName(desiredUsers(cluster({ ...spec, streams: STREAMS }), config()), 'fes_user')).to.include({ origin: 'stream' });
  });

  // Upstream TestInitRobotUsers, the cases that skip a role.
  const skipped: [string, Partial<PostgresSpec>, string][] = [
    ['named like the superuser', { users: { postgres: ['createdb'] } }, 'postgres'],
    ['named like the replication user', { users: { standby: ['replication'] } }, 'standby'],
    ['named like a protected role', { users: { admin: ['superuser'] } }, 'admin'],
    ['named like the pooler user', { enableConnectionPooler: true, users: { pooler: [] } }, 'pooler'],
    ['named like the stream user', { streams: STREAMS, users: { fes_user: ['replication'] } }, 'fes_user'],
  ];
  for (const [about, spec, name] of skipped) {
    it(`ignores a manifest role ${about}`, () => {
      expect(byName(desiredUsers(cluster(spec), config()), name)?.origin).to.not.equal('manifest');
    });
  }

  it('marks database owners and adds additional_owner_roles to them (upstream TestInitAdditionalOwnerRoles)', () => {
    const c = cluster({ users: { foo_owner: [], bar_owner: [], app_user: [] }, databases: { foo_db: 'foo_owner', bar_db: 'bar_owner' } });
    const users = desiredUsers(c, config({ additionalOwnerRoles: ['cron_admin', 'part_man'] }));
    expect(byName(users, 'foo_owner')).to.deep.include({ isDbOwner: true, memberOf: ['cron_admin', 'part_man'] });
    expect(byName(users, 'app_user')).to.deep.include({ isDbOwner: false, memberOf: [] });
  });

  // Upstream TestPreparedDatabases.
  it('prepares a database named after the cluster for preparedDatabases: {}', () => {
    const users = names(desiredUsers(cluster({ preparedDatabases: {} }), config()));
    for (const role of [
      'acid_test_owner',
      'acid_test_reader',
      'acid_test_writer',
      'acid_test_data_owner',
      'acid_test_data_reader',
      'acid_test_data_writer',
    ]) {
      expect(users).to.include(role);
    }
  });
  it('creates group and login roles per database and schema', () => {
    const c = cluster({ preparedDatabases: { foo: { defaultUsers: true, schemas: { bar: { defaultUsers: true } } } } });
    const users = desiredUsers(c, config());
    for (const role of [
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
      expect(names(users)).to.include(role);
    }
    const roles: [string, string[], string][] = [
      ['foo_owner', [], 'admin'],
      ['foo_writer', ['foo_reader'], 'foo_owner'],
      ['foo_reader_user', ['foo_reader'], 'foo_owner'],
      ['foo_bar_owner', [], 'foo_owner'],
      ['foo_bar_writer_user', ['foo_bar_writer'], 'foo_bar_owner'],
    ];
    for (const [role, memberOf, admin] of roles) expect(byName(users, role)).to.deep.include({ memberOf, adminRole: admin });
    expect(byName(users, 'foo_owner')?.parameters).to.deep.equal({ search_path: '"$user", "bar"' });
  });
  it('lets a prepared role win over a manifest role of the same name', () => {
    const c = cluster({ preparedDatabases: { foo: {} }, users: { foo_owner: ['superuser'] } });
    expect(byName(desiredUsers(c, config()), 'foo_owner')?.origin).to.equal('bootstrap');
  });

  // Upstream TestCrossNamespacedSecrets.
  it('puts a "namespace.user" role into that namespace with enable_cross_namespace_secret', () => {
    const c = cluster({ users: { 'appspace.db_user': [], db_user: [] } });
    const on = desiredUsers(c, config({ enableCrossNamespaceSecret: true }));
    expect(byName(on, 'appspace.db_user')?.namespace).to.equal('appspace');
    expect(byName(on, 'db_user')?.namespace).to.equal('test');
    expect(byName(desiredUsers(c, config()), 'appspace.db_user')?.namespace).to.equal('test');
  });
});

describe('buildUserSecrets', () => {
  const spec: Partial<PostgresSpec> = {
    users: { app_owner: ['createdb'], migrator: ['NOLOGIN'] },
    preparedDatabases: { shop: { defaultUsers: true } },
  };

  it('creates one Opaque Secret per login role, named after the role with dashes', () => {
    const { secrets } = buildUserSecrets(inputs(cluster(spec)));
    expect(secrets.map((s) => s.metadata?.name)).to.deep.equal(
      ['app_owner', 'migrator', 'postgres', 'shop_owner_user', 'shop_reader_user', 'shop_writer_user', 'standby'].map((u) => secretName(u)),
    );
    for (const s of secrets) {
      expect(s.type).to.equal('Opaque');
      expect(s.metadata?.labels).to.deep.equal({ application: 'spilo', 'cluster-name': 'acid-test', team: 'acid' });
      expect(Object.keys(s.data ?? {})).to.deep.equal(['username', 'password']);
    }
    expect(decode(secrets[0], 'username')).to.equal('app_owner');
  });

  it('keeps the password of an existing Secret and draws new ones only for new Secrets', () => {
    const existing = new Map<string, V1Secret>([
      [secretName('postgres'), secretWith(secretName('postgres'), 'test', { username: 'postgres', password: 'kept' })],
    ]);
    const drawn: string[] = [];
    const { secrets } = buildUserSecrets(
      inputs(cluster(), config(), {
        existingSecrets: existing,
        newPassword: () => {
          drawn.push('x');
          return `new-${drawn.length}`;
        },
      }),
    );
    expect(
      decode(
        secrets.find((s) => s.metadata?.name === secretName('postgres')),
        'password',
      ),
    ).to.equal('kept');
    expect(
      decode(
        secrets.find((s) => s.metadata?.name === secretName('standby')),
        'password',
      ),
    ).to.equal('new-1');
    expect(drawn).to.have.length(1);
  });

  it('labels the pooler user Secret like the pooler', () => {
    const { secrets } = buildUserSecrets(inputs(cluster({ enableConnectionPooler: true })));
    expect(secrets.find((s) => s.metadata?.name === secretName('pooler'))?.metadata?.labels).to.deep.equal({
      application: 'db-connection-pooler',
      'cluster-name': 'acid-test',
      'connection-pooler': 'acid-test-pooler',
    });
  });

  it('puts cross-namespace Secrets into their namespace, without an owner', () => {
    const c = cluster({ users: { 'appspace.db_user': [] } }, { uid: 'u-1' });
    const { secrets } = buildUserSecrets(inputs(c, config({ enableCrossNamespaceSecret: true, enableOwnerReferences: true })));
    const foreign = secrets.find((s) => s.metadata?.name === secretName('appspace.db_user'));
    expect(foreign?.metadata?.namespace).to.equal('appspace');
    expect(foreign?.metadata?.ownerReferences).to.equal(undefined);
    expect(secrets.find((s) => s.metadata?.name === secretName('postgres'))?.metadata?.ownerReferences?.[0]?.uid).to.equal('u-1');
  });

  // Upstream TestUpdateSecretNameConflict: "prepared-owner-user" and "prepared_owner_user" share a Secret name.
  it('gives a shared Secret name to one role only and reports the other', () => {
    const c = cluster({ preparedDatabases: { prepared: { defaultUsers: true } }, users: { 'prepared-owner-user': [] } });
    const { secrets, credentials } = buildUserSecrets(inputs(c));
    expect(secrets.filter((s) => s.metadata?.name === secretName('prepared-owner-user'))).to.have.length(1);
    expect([credentials.get('prepared-owner-user')?.outcome, credentials.get('prepared_owner_user')?.outcome]).to.include('conflict');
  });
  it('keeps a shared Secret name with the role the existing Secret names', () => {
    const c = cluster({ preparedDatabases: { prepared: { defaultUsers: true } }, users: { 'prepared-owner-user': [] } });
    const name = secretName('prepared_owner_user');
    const existing = new Map([[name, secretWith(name, 'test', { username: 'prepared_owner_user', password: 'p' })]]);
    const { credentials } = buildUserSecrets(inputs(c, config(), { existingSecrets: existing }));
    expect(credentials.get('prepared_owner_user')?.outcome).to.equal('kept');
    expect(credentials.get('prepared-owner-user')?.outcome).to.equal('conflict');
  });
});

describe('buildUserSecrets with password rotation', () => {
  // Upstream TestUpdateSecret, re-expressed as successive builds: rotation on globally with a one-day
  // interval; bar ignores rotation; appowner owns a database and rotates in place.
  const spec: Partial<PostgresSpec> = {
    databases: { app: 'appowner' },
    users: { foo: [], bar: [], appowner: [], 'not-exist.test_user': [] },
    usersIgnoringSecretRotation: ['bar'],
    usersWithInPlaceSecretRotation: ['appowner'],
    streams: STREAMS,
  };
  const cfg = config({ enablePasswordRotation: true, passwordRotationInterval: 1, enableCrossNamespaceSecret: true });
  const day = (n: number): Date => new Date(NOW.getTime() + n * 86_400_000);
  const rfc = (d: Date): string => d.toISOString().replace('.000Z', 'Z');
  // One password sequence across builds, so a redrawn password always differs from the earlier one.
  const newPassword = numberedPasswords('rotation');
  const build = (c: Postgresql, now: Date, existing: V1Secret[] = [], o: OperatorConfig = cfg) =>
    buildUserSecrets(inputs(c, o, { now, newPassword, existingSecrets: new Map(existing.map((s) => [s.metadata?.name ?? '', s])) }));
  const data = (secrets: V1Secret[], user: string) => {
    const s = secrets.find((x) => x.metadata?.name === secretName(user, 'acid-test'));
    return { username: decode(s, 'username'), password: decode(s, 'password'), nextRotation: decode(s, 'nextRotation') };
  };

  it('writes the first rotation date when it creates a rotating Secret', () => {
    const { secrets } = build(cluster(spec), NOW);
    expect(data(secrets, 'foo').nextRotation).to.equal(rfc(day(1)));
    expect(data(secrets, 'appowner').nextRotation).to.equal(rfc(day(1)));
    expect(data(secrets, 'bar').nextRotation).to.equal(undefined);
    expect(data(secrets, 'postgres').nextRotation).to.equal(undefined);
  });

  it('rotates due passwords: a dated user for normal roles, in place for the listed ones, none for ignored and system roles', () => {
    const first = build(cluster(spec), NOW).secrets;
    const second = build(cluster(spec), day(2), first);
    const after = second.secrets;
    expect(data(after, 'foo')).to.include({ username: 'foo260303', nextRotation: rfc(day(3)) });
    expect(data(after, 'foo').password).to.not.equal(data(first, 'foo').password);
    expect(second.credentials.get('foo')).to.include({ outcome: 'rotated-new-user', cleanUpRotationUsersOf: 'foo' });
    expect(data(after, 'appowner')).to.include({ username: 'appowner', nextRotation: rfc(day(3)) });
    expect(data(after, 'appowner').password).to.not.equal(data(first, 'appowner').password);
    expect(second.credentials.get('appowner')?.outcome).to.equal('rotated-in-place');
    for (const kept of ['bar', 'postgres', 'standby', 'fes_user']) expect(data(after, kept)).to.deep.equal(data(first, kept));
    expect(after.find((s) => s.metadata?.name === secretName('not-exist.test_user'))?.metadata?.namespace).to.equal('not-exist');
  });

  it('switches to in-place rotation at once, and back only at the next due date', () => {
    const rotated = build(cluster(spec), day(2), build(cluster(spec), NOW).secrets).secrets;
    const inPlace = cluster({ ...spec, usersWithInPlaceSecretRotation: ['appowner', 'foo'] });
    const switched = build(inPlace, day(2), rotated).secrets;
    expect(data(switched, 'foo').username).to.equal('foo');
    const back = build(cluster(spec), day(2), switched).secrets;
    expect(data(back, 'foo').username).to.equal('foo');
  });

  it('keeps a Secret whose rotation is not due yet', () => {
    const first = build(cluster(spec), NOW).secrets;
    expect(build(cluster(spec), new Date(NOW.getTime() + 3_600_000), first).secrets).to.deep.equal(first);
  });

  // docs/administrator.md: a shortened interval is reflected in the Secret when its date is further
  // away than the new interval (upstream's code computes that date but never stores it).
  it('brings the stored date forward when the interval shrinks, keeping the password', () => {
    const long = config({ ...cfg, passwordRotationInterval: 30 });
    const first = build(cluster(spec), NOW, [], long).secrets;
    const { secrets: later, credentials } = build(cluster(spec), day(2), first);
    expect(data(later, 'foo')).to.deep.equal({ ...data(first, 'foo'), nextRotation: rfc(day(3)) });
    expect(credentials.get('foo')?.outcome).to.equal('kept');
    expect(data(build(cluster(spec), day(3), later).secrets, 'foo').username).to.equal('foo');
    expect(data(build(cluster(spec), day(4), later).secrets, 'foo').username).to.equal('foo260305');
  });

  it('resets a rotation user once rotation is switched off', () => {
    const rotated = build(cluster(spec), day(2), build(cluster(spec), NOW).secrets).secrets;
    const { secrets, credentials } = build(cluster(spec), day(2), rotated, config({ enableCrossNamespaceSecret: true }));
    expect(data(secrets, 'foo')).to.include({ username: 'foo', nextRotation: '' });
    expect(credentials.get('foo')?.outcome).to.equal('reset');
  });

  it('does not rotate in a standby cluster', () => {
    const standby = cluster({ ...spec, standby: { standby_host: 'primary.example' } });
    const first = build(standby, NOW).secrets;
    expect(data(first, 'foo').nextRotation).to.equal(undefined);
    expect(build(standby, day(10), first).secrets).to.deep.equal(first);
  });

  it('sets a rotation date when the stored one cannot be read', () => {
    const name = secretName('foo');
    const broken = secretWith(name, 'test', { username: 'foo', password: 'old', nextRotation: 'next tuesday' });
    expect(data(build(cluster(spec), NOW, [broken]).secrets, 'foo')).to.deep.equal({
      username: 'foo',
      password: 'old',
      nextRotation: rfc(day(1)),
    });
  });
});
