import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse } from 'yaml';
import type { PostgresSpec } from '@pgfn/api';
import {
  buildDesiredState,
  buildRoleModel,
  planCredentials,
  type CredentialPlan,
  type DesiredState,
  type SecretContent,
} from '@pgfn/roles';
import { countingPasswords, testCluster, testConfig, type TestSpec } from './helpers.js';

const p = 't_';
const now = new Date('2026-11-21T12:00:00Z');

function desiredFor(
  spec: TestSpec,
  secrets = new Map<string, SecretContent>(),
  degraded?: Set<string>,
  overrides = {},
): { state: DesiredState; credentials: Map<string, CredentialPlan> } {
  const cluster = testCluster(p, spec);
  const config = testConfig(p, overrides);
  const model = buildRoleModel({ cluster, config });
  const { credentials } = planCredentials({ model, spec: cluster.spec, config, secrets, now, newPassword: countingPasswords() });
  const { state } = buildDesiredState({ model, cluster, config, credentials, now, ...(degraded ? { degraded } : {}) });
  return { state, credentials };
}

describe('buildDesiredState', () => {
  describe('the complete example', () => {
    const example = parse(readFileSync(new URL('../../crds/examples/complete.yaml', import.meta.url), 'utf8')) as { spec: PostgresSpec };
    const { state } = desiredFor(example.spec);

    it('wants the manifest database and the prepared one, owned as upstream', () => {
      expect(state.databases).to.deep.equal([
        { name: 'app', owner: 'app_owner', enforceOwner: true },
        { name: 'shop', owner: 'shop_owner', enforceOwner: false },
      ]);
    });
    it('wants both schemas, owned by their own owner roles, and the extensions in theirs', () => {
      expect(state.schemas).to.deep.equal([
        { database: 'shop', name: 'data', owner: 'shop_data_owner' },
        { database: 'shop', name: 'history', owner: 'shop_history_owner' },
      ]);
      expect(state.extensions).to.deep.equal([
        { database: 'shop', name: 'pg_partman', schema: 'public' },
        { database: 'shop', name: 'pgcrypto', schema: 'data' },
      ]);
    });
    it('wants global default privileges for the owner and its login user', () => {
      const global = state.defaultPrivileges.filter((d) => d.schema === undefined);
      expect([...new Set(global.map((d) => d.owner))]).to.deep.equal(['shop_owner', 'shop_owner_user']);
      expect(
        global.filter((d) => d.owner === 'shop_owner').map((d) => `${d.privileges.join(',')} ON ${d.object} TO ${d.grantees.join(',')}`),
      ).to.deep.equal([
        'USAGE ON schemas TO shop_writer,shop_reader',
        'SELECT ON tables TO shop_reader',
        'SELECT ON sequences TO shop_reader',
        'INSERT,UPDATE,DELETE ON tables TO shop_writer',
        'USAGE,UPDATE ON sequences TO shop_writer',
        'EXECUTE ON functions TO shop_reader,shop_writer',
        'USAGE ON types TO shop_reader,shop_writer',
      ]);
    });
    it('wants schema default privileges from every owner of the database and the schema', () => {
      const history = state.defaultPrivileges.filter(
        (d) => d.schema === 'history' && d.object === 'tables' && d.privileges[0] === 'SELECT',
      );
      expect(history.map((d) => `${d.owner} -> ${d.grantees.join(',')}`)).to.deep.equal([
        'shop_history_owner -> shop_reader',
        'shop_owner -> shop_history_reader',
        'shop_owner_user -> shop_history_reader',
        'shop_history_owner -> shop_history_reader',
      ]);
    });
    it('wants the pooler lookup in the configured schema for the pooler user', () => {
      expect(state.pooler).to.deep.equal({ schema: 'pooler', user: 'pooler' });
    });
    it('passes no password for roles without a Secret', () => {
      expect(state.roles.find((r) => r.name === 'shop_owner'))
        .to.deep.include({ flags: { LOGIN: false }, admins: ['admin'] })
        .and.not.have.property('password');
      expect(state.roles.find((r) => r.name === 'shop_owner_user')).to.have.property('password');
    });
  });

  it('wants the rotation user beside its role, with the password of the Secret', () => {
    const secrets = new Map([['app', { username: 'app261120', password: 'rotated', nextRotation: '2026-12-20T00:00:00Z' }]]);
    const { state } = desiredFor({ users: { app: ['createdb'] }, usersWithSecretRotation: ['app'] }, secrets);
    expect(state.roles.find((r) => r.name === 'app')).to.deep.equal({
      name: 'app',
      flags: { LOGIN: true, CREATEDB: true },
      memberOf: [],
      admins: [`${p}admin`],
    });
    expect(state.roles.find((r) => r.name === 'app261120')).to.deep.equal({
      name: 'app261120',
      flags: { LOGIN: true, CREATEDB: true },
      memberOf: ['app'],
      admins: [`${p}admin`],
      parametersFrom: 'app',
      password: 'rotated',
    });
    expect(state.rotationCleanup.find((c) => c.base === 'app')).to.deep.equal({
      base: 'app',
      keep: ['app261120'],
      createdBefore: new Date('2026-05-25T12:00:00Z'),
    });
  });

  it('leaves a degraded role out entirely', () => {
    const { state } = desiredFor({ users: { app: [], other: [] } }, new Map(), new Set(['app']));
    expect(state.roles.map((r) => r.name)).to.deep.equal(['other', `${p}postgres`, `${p}standby`]);
    expect(state.rotationCleanup.map((c) => c.base)).not.to.include('app');
  });

  it('takes password_encryption from the manifest', () => {
    expect(desiredFor({ postgresql: { version: '15', parameters: { password_encryption: 'md5' } } }).state.passwordEncryption).to.equal(
      'md5',
    );
    expect(desiredFor({}).state.passwordEncryption).to.equal('scram-sha-256');
  });

  it('lets `databases` win over a prepared database of the same name', () => {
    const { state } = desiredFor({ users: { boss: [] }, databases: { foo: 'boss' }, preparedDatabases: { foo: {} } });
    expect(state.databases).to.deep.equal([{ name: 'foo', owner: 'boss', enforceOwner: true }]);
  });
});
