import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type InfrastructureRole } from '@pgfn/api';
import { infrastructureRoleDefinitions, parseInfrastructureRoles } from '@pgfn/roles';

const definition = (overrides: Partial<InfrastructureRole>): InfrastructureRole => ({
  secretName: { namespace: 'ops', name: 'roles' },
  userKey: '',
  passwordKey: '',
  roleKey: '',
  defaultUserValue: '',
  defaultRoleValue: '',
  details: '',
  template: false,
  ...overrides,
});
const OLD = definition({ userKey: 'user', passwordKey: 'password', roleKey: 'inrole', template: true });

describe('infrastructure roles (upstream getInfrastructureRole)', () => {
  it('puts the list and ConfigMap-text definitions first and the old single Secret last, as a template', () => {
    const listed = definition({ secretName: { namespace: 'team', name: 'one' }, userKey: 'u', passwordKey: 'p' });
    const defs = infrastructureRoleDefinitions({
      ...DEFAULT_OPERATOR_CONFIG,
      infrastructureRolesSecrets: [listed, definition({ secretName: { namespace: '', name: '' } })],
      infrastructureRolesSecretName: { namespace: 'ops', name: 'old' },
    });
    expect(defs).to.deep.equal([listed, { ...OLD, secretName: { namespace: 'ops', name: 'old' } }]);
  });

  it('reads user1/password1/inrole1 … until an index has no user, skipping entries without a password', () => {
    const { roles, problems } = parseInfrastructureRoles([
      {
        definition: OLD,
        secret: {
          user1: 'robot',
          password1: 'a',
          inrole1: 'admins',
          user2: 'nopass',
          user3: 'plain',
          password3: 'c',
          user5: 'after-gap',
          password5: 'e',
        },
      },
    ]);
    expect(roles).to.deep.equal([
      { name: 'plain', password: 'c', memberOf: [] },
      { name: 'robot', password: 'a', memberOf: ['admins'] },
    ]);
    expect(problems).to.deep.equal([]);
  });

  it('reads one role from the keys of a definition, with default user and role values', () => {
    const { roles } = parseInfrastructureRoles([
      {
        definition: definition({ userKey: 'login', passwordKey: 'pw', roleKey: 'grp' }),
        secret: { login: 'app', pw: 's', grp: 'readers' },
      },
      { definition: definition({ passwordKey: 'pw', defaultUserValue: 'dflt', defaultRoleValue: 'writers' }), secret: { pw: 't' } },
    ]);
    expect(roles).to.deep.equal([
      { name: 'app', password: 's', memberOf: ['readers'] },
      { name: 'dflt', password: 't', memberOf: ['writers'] },
    ]);
  });

  it("takes role descriptions from the same-named ConfigMap, their passwords from the Secret's keys", () => {
    const { roles, problems } = parseInfrastructureRoles([
      {
        definition: OLD,
        secret: { user1: 'robot', password1: 'a', described: 'b' },
        configMap: {
          described: 'user_flags: [createdb]\ninrole: [admins]\ndb_parameters: {work_mem: 8MB}\nadmin_role: dba\n',
          unpaired: 'inrole: [x]',
        },
      },
    ]);
    expect(roles).to.deep.equal([
      { name: 'described', password: 'b', flags: ['createdb'], memberOf: ['admins'], parameters: { work_mem: '8MB' }, adminRole: 'dba' },
      { name: 'robot', password: 'a', memberOf: [] },
    ]);
    expect(problems).to.deep.equal([
      'the infrastructure role "unpaired" of ConfigMap ops/roles has no password in the Secret and is ignored',
    ]);
  });

  it('reports a missing Secret and an incomplete role, and lets a later role of a name win', () => {
    const { roles, problems } = parseInfrastructureRoles([
      { definition: definition({ secretName: { namespace: 'ops', name: 'gone' }, userKey: 'u', passwordKey: 'p' }) },
      { definition: definition({ userKey: 'u', passwordKey: 'p' }), secret: { u: 'no-password' } },
      { definition: OLD, secret: { user1: 'twice', password1: 'first' } },
      { definition: OLD, secret: { user1: 'twice', password1: 'second' } },
    ]);
    expect(roles).to.deep.equal([{ name: 'twice', password: 'second', memberOf: [] }]);
    expect(problems).to.deep.equal([
      'the infrastructure roles Secret ops/gone does not exist',
      'the infrastructure role of Secret ops/roles has no password and is ignored',
    ]);
  });
});
