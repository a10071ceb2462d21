import type { V1Secret } from '@kubernetes/client-node';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { buildCluster, readSecretData } from '@pgfn/builder';
import { expect } from 'chai';
import {
  buildRoleModel,
  credentialSecretRefs,
  formatRfc3339,
  planCredentials,
  type CredentialPlan,
  type InfrastructureRoleInput,
  type RolesConfig,
  type SecretContent,
} from '@pgfn/roles';
import { countingPasswords, testCluster, testConfig, type TestSpec } from './helpers.js';

const p = 't_';
const DAY = 86_400_000;
const t0 = new Date('2026-11-21T10:00:00Z');

/** Plans credentials like a caller and keeps the Secrets it writes. */
class Cluster {
  readonly secrets = new Map<string, SecretContent>();
  readonly newPassword = countingPasswords();
  constructor(
    public spec: TestSpec,
    public config: RolesConfig,
    readonly infra: InfrastructureRoleInput[] = [],
  ) {}

  sync(now: Date, standby = false): Map<string, CredentialPlan> {
    const model = buildRoleModel({ cluster: testCluster(p, this.spec), config: this.config, infrastructureRoles: this.infra });
    const { credentials } = planCredentials({
      model,
      spec: this.spec,
      config: this.config,
      secrets: this.secrets,
      now,
      newPassword: this.newPassword,
      standby,
    });
    for (const plan of credentials.values())
      if (plan.write !== 'none' && plan.error === undefined) this.secrets.set(plan.role, plan.content);
    return credentials;
  }
}

const plan = (all: Map<string, CredentialPlan>, role: string): CredentialPlan => {
  const found = all.get(role);
  if (found === undefined) throw new Error(`no credentials for ${role}`);
  return found;
};

describe('credentialSecretRefs', () => {
  it('names each Secret from the template, with dashes for underscores', () => {
    const config = testConfig(p, { enableCrossNamespaceSecret: true });
    const model = buildRoleModel({
      cluster: testCluster(p, { users: { foo_user: [], 'apps.db_user': [] }, preparedDatabases: { shop: { defaultUsers: true } } }),
      config,
    });
    const refs = credentialSecretRefs(model, config);
    expect(refs.find((r) => r.role === 'foo_user')).to.deep.equal({
      role: 'foo_user',
      name: 'foo-user.t-acid.credentials.postgresql.acid.zalan.do',
      namespace: 'default',
    });
    expect(refs.find((r) => r.role === 'apps.db_user')).to.include({
      name: 'apps.db-user.t-acid.credentials.postgresql.acid.zalan.do',
      namespace: 'apps',
    });
    expect(refs.map((r) => r.role)).to.include.members([
      'shop_owner_user',
      'shop_reader_user',
      'shop_writer_user',
      `${p}postgres`,
      `${p}standby`,
    ]);
    expect(refs.map((r) => r.role)).not.to.include('shop_owner');
  });
});

describe('planCredentials', () => {
  it('creates missing Secrets with fresh passwords, or the infrastructure password', () => {
    const c = new Cluster({ users: { app: [] } }, testConfig(p), [{ name: 'robot', password: 'infra-pw' }]);
    const all = c.sync(t0);
    expect(plan(all, 'app')).to.deep.include({
      write: 'create',
      content: { username: 'app', password: 'pw-1' },
      login: { username: 'app', password: 'pw-1' },
    });
    expect(plan(all, 'robot').content).to.deep.equal({ username: 'robot', password: 'infra-pw' });
  });

  it('takes the password of a Secret that already exists (a custom password)', () => {
    const c = new Cluster({ users: { app: [] } }, testConfig(p));
    c.secrets.set('app', { username: 'app', password: 'my own password' });
    const all = c.sync(t0);
    expect(plan(all, 'app')).to.deep.include({ write: 'none', login: { username: 'app', password: 'my own password' } });
  });

  it('makes the Secret follow a changed infrastructure password', () => {
    const c = new Cluster({}, testConfig(p), [{ name: 'robot', password: 'old' }]);
    c.sync(t0);
    c.infra[0] = { name: 'robot', password: 'new' };
    const robot = plan(c.sync(t0), 'robot');
    expect(robot.write).to.equal('update');
    expect(robot.login).to.deep.equal({ username: 'robot', password: 'new' });
  });

  describe('rotation (upstream TestUpdateSecret)', () => {
    const spec = (): TestSpec => ({
      users: { foo: [], bar: [], appowner: [] },
      databases: { app: 'appowner' },
      usersIgnoringSecretRotation: ['bar'],
      usersWithInPlaceSecretRotation: ['appowner'],
    });
    const config = testConfig(p, { enablePasswordRotation: true, passwordRotationInterval: 1, passwordRotationUserRetention: 3 });

    it('writes the first rotation date, one interval ahead, when it creates a rotating Secret', () => {
      const c = new Cluster(spec(), config);
      const created = c.sync(t0);
      const next = formatRfc3339(new Date(t0.getTime() + DAY));
      expect(plan(created, 'foo')).to.deep.include({
        write: 'create',
        login: { username: 'foo', password: plan(created, 'foo').content.password },
      });
      expect(plan(created, 'foo').content.nextRotation).to.equal(next);
      // in-place rotation is enabled for the database owner through the manifest
      expect(plan(created, 'appowner').content.nextRotation).to.equal(next);
      for (const untouched of ['bar', `${p}postgres`, `${p}standby`])
        expect(plan(created, untouched).content.nextRotation, untouched).to.equal(undefined);
      const again = c.sync(t0);
      for (const role of again.keys()) expect(plan(again, role).write, role).to.equal('none');
    });

    it('sets the first rotation date of an existing Secret that has none, without rotating', () => {
      const c = new Cluster(spec(), config);
      c.secrets.set('foo', { username: 'foo', password: 'kept' });
      const foo = plan(c.sync(t0), 'foo');
      expect(foo).to.deep.include({ write: 'update', login: { username: 'foo', password: 'kept' } });
      expect(foo.content.nextRotation).to.equal(formatRfc3339(new Date(t0.getTime() + DAY)));
      expect(foo.reasons).to.deep.equal([
        `no rotation date in the Secret: first rotation at ${formatRfc3339(new Date(t0.getTime() + DAY))}`,
      ]);
    });

    it('rotates when the date has passed: a new user for foo, a new password in place for the owner', () => {
      const c = new Cluster(spec(), config);
      c.sync(t0);
      c.sync(t0);
      const before = new Map(c.secrets);
      const dayAfterTomorrow = new Date(t0.getTime() + 2 * DAY);
      const rotated = c.sync(dayAfterTomorrow);
      const next = formatRfc3339(new Date(dayAfterTomorrow.getTime() + DAY));
      expect(plan(rotated, 'foo').content).to.deep.include({ username: 'foo261123', nextRotation: next });
      expect(plan(rotated, 'foo').content.password).not.to.equal(before.get('foo')?.password);
      expect(plan(rotated, 'foo').login.username).to.equal('foo261123');
      expect(plan(rotated, 'appowner').content).to.deep.include({ username: 'appowner', nextRotation: next });
      expect(plan(rotated, 'appowner').content.password).not.to.equal(before.get('appowner')?.password);
      expect(plan(rotated, 'appowner').rollPods).to.equal(undefined);
      for (const untouched of ['bar', `${p}postgres`, `${p}standby`]) expect(plan(rotated, untouched).write, untouched).to.equal('none');
    });

    it('switches to in-place rotation at once and back only at the next date', () => {
      const c = new Cluster(spec(), config);
      c.sync(t0);
      c.sync(t0);
      const t2 = new Date(t0.getTime() + 2 * DAY);
      c.sync(t2);
      expect(c.secrets.get('foo')?.username).to.equal('foo261123');
      c.spec = { ...spec(), usersWithInPlaceSecretRotation: ['appowner', 'foo'] };
      expect(plan(c.sync(t2), 'foo').content.username).to.equal('foo');
      c.spec = spec();
      expect(plan(c.sync(t2), 'foo').content.username).to.equal('foo');
      expect(plan(c.sync(new Date(t2.getTime() + 2 * DAY)), 'foo').content.username).to.equal('foo261125');
    });

    it('goes back to the plain user with a new password when rotation is switched off', () => {
      const c = new Cluster(spec(), config);
      c.sync(t0);
      c.sync(t0);
      c.sync(new Date(t0.getTime() + 2 * DAY));
      c.config = { ...config, enablePasswordRotation: false };
      const off = plan(c.sync(new Date(t0.getTime() + 3 * DAY)), 'foo');
      expect(off.content).to.deep.include({ username: 'foo', nextRotation: '' });
      expect(off.login.username).to.equal('foo');
      expect(off.reasons[0]).to.match(/rotation is off/);
    });

    it('rotates only the users listed in the manifest when rotation is off globally', () => {
      const c = new Cluster(
        { users: { foo: [], bar: [] }, usersWithSecretRotation: ['foo'] },
        testConfig(p, { passwordRotationInterval: 1 }),
      );
      c.sync(t0);
      c.sync(t0);
      const rotated = c.sync(new Date(t0.getTime() + 2 * DAY));
      expect(plan(rotated, 'foo').login.username).to.equal('foo261123');
      expect(plan(rotated, 'bar').write).to.equal('none');
    });

    it('never rotates owners, infrastructure or system users globally, and nothing in a standby cluster', () => {
      const c = new Cluster({ users: { owner: [], app: [] }, databases: { d: 'owner' } }, config, [{ name: 'robot', password: 'x' }]);
      // created in standby: no rotation date, and none set later while it stays a standby
      c.sync(t0, true);
      expect(plan(c.sync(t0, true), 'app').write).to.equal('none');
      const second = c.sync(t0);
      expect(plan(second, 'app').write).to.equal('update');
      for (const role of ['owner', 'robot', `${p}postgres`]) expect(plan(second, role).write, role).to.equal('none');
    });

    it('brings a far rotation date forward when the interval was shortened', () => {
      const c = new Cluster({ users: { app: [] } }, config);
      c.secrets.set('app', { username: 'app', password: 'x', nextRotation: formatRfc3339(new Date(t0.getTime() + 90 * DAY)) });
      const app = plan(c.sync(t0), 'app');
      expect(app.content.nextRotation).to.equal(formatRfc3339(new Date(t0.getTime() + DAY)));
      expect(app.content.username).to.equal('app');
    });

    it('rotates system users in place only when listed, and asks for their pods to be replaced', () => {
      const c = new Cluster(
        { enableConnectionPooler: true, usersWithInPlaceSecretRotation: [`${p}postgres`, `${p}pooler`] },
        testConfig(p, { passwordRotationInterval: 1 }),
      );
      c.sync(t0);
      c.sync(t0);
      const rotated = c.sync(new Date(t0.getTime() + 2 * DAY));
      expect(plan(rotated, `${p}postgres`)).to.deep.include({ rollPods: 'postgres', write: 'update' });
      expect(plan(rotated, `${p}pooler`)).to.deep.include({ rollPods: 'pooler', write: 'update' });
      expect(plan(rotated, `${p}standby`).write).to.equal('none');
    });

    it('does not rotate to a user name Postgres would cut', () => {
      const long = 'u'.repeat(60);
      const c = new Cluster({ users: { [long]: [] }, usersWithSecretRotation: [long] }, testConfig(p, { passwordRotationInterval: 1 }));
      c.sync(t0);
      c.sync(t0);
      const model = buildRoleModel({ cluster: testCluster(p, c.spec), config: c.config });
      const { credentials, problems } = planCredentials({
        model,
        spec: c.spec,
        config: c.config,
        secrets: c.secrets,
        now: new Date(t0.getTime() + 2 * DAY),
        newPassword: c.newPassword,
      });
      expect(plan(credentials, long).login.username).to.equal(long);
      expect(problems[0]?.message).to.match(/66 bytes long/);
    });
  });

  it('gives a Secret name two roles share to the prepared-database user (upstream TestUpdateSecretNameConflict)', () => {
    const c = new Cluster({ preparedDatabases: { prepared: { defaultUsers: true } }, users: { 'prepared-owner-user': [] } }, testConfig(p));
    const all = c.sync(t0);
    expect(plan(all, 'prepared_owner_user').write).to.equal('create');
    expect(plan(all, 'prepared-owner-user').error).to.match(/belongs to role "prepared_owner_user"/);
  });

  it('refuses a Secret that names a different user whose name makes the same Secret name', () => {
    const c = new Cluster({ users: { 'foo-bar': [] } }, testConfig(p));
    c.secrets.set('foo-bar', { username: 'foo_bar', password: 'x' });
    expect(plan(c.sync(t0), 'foo-bar').error).to.match(/belongs to user "foo_bar"/);
  });
});

// One credential model (docs/adr/0010-one-credential-model.md): the role sync reads the Secrets the
// builder applied and must find nothing to write, or it would leave the role alone ("degraded").
describe('planCredentials on the Secrets the builder wrote', () => {
  const spec: TestSpec = {
    users: { foo: [], bar: [], appowner: [], 'prepared-owner-user': [] },
    databases: { app: 'appowner' },
    preparedDatabases: { prepared: { defaultUsers: true } },
    enableConnectionPooler: true,
    usersIgnoringSecretRotation: ['bar'],
    usersWithInPlaceSecretRotation: ['appowner', `${p}postgres`, `${p}pooler`],
  };
  const rotating = {
    ...DEFAULT_OPERATOR_CONFIG,
    ...testConfig(p, { enablePasswordRotation: true, passwordRotationInterval: 1 }),
  };
  // [day, configuration]: creation with a long interval, the interval shortened, not due, due, rotation switched off
  const steps: [number, OperatorConfig][] = [
    [0, { ...rotating, passwordRotationInterval: 30 }],
    [1, rotating],
    [1.5, rotating],
    [3, rotating],
    [5, { ...rotating, enablePasswordRotation: false }],
  ];

  it('agrees with every build: nothing to write, the same logins', () => {
    const cluster = { ...testCluster(p, spec), apiVersion: 'acid.zalan.do/v1', kind: 'postgresql' } as Postgresql;
    const newPassword = countingPasswords('built');
    let existingSecrets = new Map<string, V1Secret>();
    const outcomes = new Set<string>();
    for (const [n, config] of steps) {
      const now = new Date(t0.getTime() + n * DAY);
      const built = buildCluster({ cluster, config, now, newPassword, existingSecrets });
      existingSecrets = new Map(built.objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, o as V1Secret]));
      const model = buildRoleModel({ cluster, config });
      const secrets = new Map<string, SecretContent>();
      for (const ref of credentialSecretRefs(model, config)) {
        const content = readSecretData(existingSecrets.get(ref.name));
        if (content !== undefined) secrets.set(ref.role, content);
      }
      const { credentials } = planCredentials({ model, spec: cluster.spec, config, secrets, now, newPassword: () => 'never drawn' });
      for (const [role, planned] of credentials) {
        const fromBuilder = built.credentials.get(role);
        outcomes.add(fromBuilder?.outcome ?? 'absent');
        if (fromBuilder?.outcome === 'conflict') {
          expect(planned.error, `day ${n}: ${role}`).to.be.a('string');
          continue;
        }
        expect(planned.write, `day ${n}: ${role}`).to.equal('none');
        expect(planned.login, `day ${n}: ${role}`).to.deep.equal({ username: fromBuilder?.username, password: fromBuilder?.password });
      }
    }
    expect([...outcomes].sort()).to.deep.equal(['conflict', 'created', 'kept', 'reset', 'rotated-in-place', 'rotated-new-user']);
  });
});
