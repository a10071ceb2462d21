import { expect } from 'chai';
import type { CurrentRole, DesiredRole, RoleFlag } from '@pgfn/roles';
import { planTeamRoles, type TeamPlanInput } from '../../functions/team-role-sync/src/index.js';

const FLAGS: Record<RoleFlag, boolean> = {
  SUPERUSER: false,
  INHERIT: true,
  LOGIN: false,
  CREATEROLE: false,
  CREATEDB: false,
  REPLICATION: false,
  BYPASSRLS: false,
};

function current(
  name: string,
  o: { login?: boolean; superuser?: boolean; memberOf?: string[]; parameters?: Record<string, string> } = {},
): [string, CurrentRole] {
  return [
    name,
    {
      name,
      password: null,
      flags: { ...FLAGS, LOGIN: o.login ?? true, SUPERUSER: o.superuser ?? false },
      memberOf: (o.memberOf ?? []).map((role) => ({ role, admin: false })),
      parameters: new Map(Object.entries(o.parameters ?? {})),
    },
  ];
}

function human(name: string, superuser = false): DesiredRole {
  return {
    name,
    flags: { LOGIN: true, SUPERUSER: superuser },
    memberOf: superuser ? ['pam'] : ['pam', 'admin'],
    admins: [],
    parameters: { log_statement: 'all' },
  };
}

const GROUPS = [current('pam', { login: false }), current('admin', { login: false }), current('postgres', { superuser: true })];
const converged = (name: string, o: { login?: boolean } = {}): [string, CurrentRole] =>
  current(name, { memberOf: ['pam', 'admin'], parameters: { log_statement: 'all' }, ...o });

function plan(desired: DesiredRole[], roles: [string, CurrentRole][], o: Partial<TeamPlanInput> = {}): ReturnType<typeof planTeamRoles> {
  return planTeamRoles({
    desired,
    current: new Map([...GROUPS, ...roles]),
    pamRole: 'pam',
    deprecation: { enabled: true, suffix: '_deleted' },
    untouchable: new Set(['postgres', 'admin']),
    ...o,
  });
}

describe('team-role-sync: planTeamRoles', () => {
  it('creates a new member with LOGIN, its groups and settings, and no password', () => {
    const p = plan([human('jane')], []);
    expect(p.created).to.deep.equal(['jane']);
    expect(p.statements.map((s) => s.sql)).to.deep.equal([
      'CREATE ROLE "jane" WITH NOSUPERUSER LOGIN',
      `ALTER ROLE "jane" SET log_statement TO 'all'`,
      'GRANT "pam" TO "jane"',
      'GRANT "admin" TO "jane"',
    ]);
  });

  it('has nothing to do for a converged member', () => {
    expect(plan([human('jane')], [converged('jane')]).statements).to.deep.equal([]);
  });

  it('gives and takes SUPERUSER as the teams say', () => {
    expect(plan([human('jane', true)], [converged('jane')]).statements.map((s) => s.sql)).to.deep.equal([
      'ALTER ROLE "jane" WITH SUPERUSER',
    ]);
    expect(
      plan(
        [human('jane')],
        [current('jane', { superuser: true, memberOf: ['pam', 'admin'], parameters: { log_statement: 'all' } })],
      ).statements.map((s) => s.sql),
    ).to.deep.equal(['ALTER ROLE "jane" WITH NOSUPERUSER']);
  });

  it('deprecates a leaver: NOLOGIN, then the suffix', () => {
    const p = plan([human('jane')], [converged('jane'), converged('joe')]);
    expect(p.deprecated).to.deep.equal(['joe']);
    expect(p.statements.map((s) => s.sql)).to.deep.equal(['ALTER ROLE "joe" WITH NOLOGIN', 'ALTER ROLE "joe" RENAME TO "joe_deleted"']);
  });

  it('leaves leavers alone without enable_team_member_deprecation', () => {
    expect(
      plan([human('jane')], [converged('jane'), converged('joe')], { deprecation: { enabled: false, suffix: '_deleted' } }).statements,
    ).to.deep.equal([]);
  });

  it('leaves deprecated roles, protected, system and other roles alone', () => {
    const p = plan(
      [],
      [converged('joe_deleted', { login: false }), current('app', { memberOf: [] }), current('postgres2', { memberOf: ['pam'] })],
      { untouchable: new Set(['postgres', 'admin', 'postgres2']) },
    );
    expect(p.statements).to.deep.equal([]);
  });

  it('restores a returning member by renaming the deprecated role back and giving LOGIN', () => {
    const p = plan([human('joe')], [converged('joe_deleted', { login: false })]);
    expect(p.restored).to.deep.equal(['joe']);
    expect(p.created).to.deep.equal([]);
    expect(p.statements.map((s) => s.sql)).to.deep.equal(['ALTER ROLE "joe_deleted" RENAME TO "joe"', 'ALTER ROLE "joe" WITH LOGIN']);
  });

  it('does not restore a suffixed role that is not a human role, and creates the member instead', () => {
    const p = plan([human('joe')], [current('joe_deleted', { login: false, memberOf: [] })]);
    expect(p.restored).to.deep.equal([]);
    expect(p.created).to.deep.equal(['joe']);
  });

  it('only takes LOGIN when the renamed name exists or would be too long, and says so', () => {
    const long = 'j'.repeat(60);
    const p = plan([], [converged('joe'), converged('joe_deleted', { login: false }), converged(long)]);
    expect(p.statements.map((s) => s.sql)).to.deep.equal([`ALTER ROLE "${long}" WITH NOLOGIN`, 'ALTER ROLE "joe" WITH NOLOGIN']);
    expect(p.warnings.join('\n'))
      .to.match(/"joe_deleted" exists/)
      .and.to.match(/would silently cut it/);
  });

  it('with an empty suffix, leavers only lose LOGIN and come back by getting it again', () => {
    const none = { deprecation: { enabled: true, suffix: '' } };
    expect(plan([], [converged('joe')], none).statements.map((s) => s.sql)).to.deep.equal(['ALTER ROLE "joe" WITH NOLOGIN']);
    expect(plan([], [converged('joe', { login: false })], none).statements).to.deep.equal([]);
    expect(plan([human('joe')], [converged('joe', { login: false })], none).statements.map((s) => s.sql)).to.deep.equal([
      'ALTER ROLE "joe" WITH LOGIN',
    ]);
  });

  it('deprecates nothing, with a warning, when no PAM role marks human roles', () => {
    const p = plan([], [converged('joe')], { pamRole: '' });
    expect(p.statements).to.deep.equal([]);
    expect(p.warnings.join()).to.match(/needs pam_role_name/);
  });

  it('quotes hostile names so that they cannot end a statement', () => {
    const name = 'x"; DROP ROLE postgres; --';
    const p = plan([human(name)], [converged(`y'); DROP ROLE postgres; --`)]);
    expect(p.statements[0]?.sql).to.equal('CREATE ROLE "x""; DROP ROLE postgres; --" WITH NOSUPERUSER LOGIN');
    expect(p.statements.at(-1)?.sql).to.equal(`ALTER ROLE "y'); DROP ROLE postgres; --" RENAME TO "y'); DROP ROLE postgres; --_deleted"`);
  });
});
