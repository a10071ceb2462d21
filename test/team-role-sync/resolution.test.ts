import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type PostgresTeamSpec } from '@pgfn/api';
import {
  additionalMembers,
  additionalTeams,
  buildTeamMap,
  clusterTeams,
  humanRoles,
  ownerAffected,
  resolveMembers,
  teamMembers,
  teamsNamedBy,
} from '../../functions/team-role-sync/src/index.js';

const teams = (...specs: PostgresTeamSpec[]): ReturnType<typeof buildTeamMap> => buildTeamMap(specs.map((spec) => ({ spec })));

describe('team-role-sync: PostgresTeam resolution', () => {
  describe('additionalTeams', () => {
    const cases: { name: string; specs: PostgresTeamSpec[]; team: string; kind: 'regular' | 'superuser'; want: string[] }[] = [
      { name: 'direct teams', specs: [{ additionalTeams: { a: ['b'] } }], team: 'a', kind: 'regular', want: ['b'] },
      {
        name: 'transitively (docs/user.md: a -> b, c; b -> a)',
        specs: [{ additionalTeams: { a: ['b', 'c'], b: ['a'] } }],
        team: 'b',
        kind: 'regular',
        want: ['a', 'c'],
      },
      {
        name: 'a long chain',
        specs: [{ additionalTeams: { a: ['b'] } }, { additionalTeams: { b: ['c'] } }, { additionalTeams: { c: ['d'] } }],
        team: 'a',
        kind: 'regular',
        want: ['b', 'c', 'd'],
      },
      {
        name: 'through a virtual team',
        specs: [{ additionalTeams: { a: ['virtual'], b: ['virtual'], virtual: ['c', 'd'] } }],
        team: 'b',
        kind: 'regular',
        want: ['c', 'd', 'virtual'],
      },
      {
        name: 'a cycle without looping or adding the team itself',
        specs: [{ additionalTeams: { a: ['b'], b: ['c'], c: ['a'] } }],
        team: 'a',
        kind: 'regular',
        want: ['b', 'c'],
      },
      { name: 'a self-reference as nothing', specs: [{ additionalTeams: { a: ['a'] } }], team: 'a', kind: 'regular', want: [] },
      {
        name: 'several objects naming one team, united',
        specs: [{ additionalTeams: { a: ['b'] } }, { additionalTeams: { a: ['c'] } }],
        team: 'a',
        kind: 'regular',
        want: ['b', 'c'],
      },
      {
        name: 'superuser edges only for superuser teams',
        specs: [{ additionalSuperuserTeams: { a: ['s'] }, additionalTeams: { a: ['b'], s: ['x'] } }],
        team: 'a',
        kind: 'superuser',
        want: ['s'],
      },
      {
        name: 'superuser teams transitively',
        specs: [{ additionalSuperuserTeams: { a: ['s'], s: ['t'] } }],
        team: 'a',
        kind: 'superuser',
        want: ['s', 't'],
      },
      { name: 'nothing for an unknown team', specs: [{ additionalTeams: { a: ['b'] } }], team: 'z', kind: 'regular', want: [] },
    ];
    for (const c of cases) {
      it(`follows ${c.name}`, () => {
        expect(additionalTeams(teams(...c.specs), c.team, c.kind)).to.deep.equal(c.want);
      });
    }
  });

  it('keeps additionalMembers per team, without following teams', () => {
    const map = teams(
      { additionalTeams: { a: ['b'] }, additionalMembers: { a: ['tia'], b: ['bob'] } },
      { additionalMembers: { a: ['tia', 'zoe'] } },
    );
    expect(additionalMembers(map, 'a')).to.deep.equal(['tia', 'zoe']);
    expect(additionalMembers(map, 'b')).to.deep.equal(['bob']);
    expect(additionalMembers(map, 'c')).to.deep.equal([]);
  });

  it('ignores entries that are not lists of strings', () => {
    const map = teams({ additionalTeams: { a: 'b' as unknown as string[], c: [1 as unknown as string, 'd', ''] } });
    expect(additionalTeams(map, 'a', 'regular')).to.deep.equal([]);
    expect(additionalTeams(map, 'c', 'regular')).to.deep.equal(['d']);
  });

  describe('which clusters a PostgresTeam concerns', () => {
    const map = teams({ additionalTeams: { a: ['v'], b: ['v'], v: ['c'] }, additionalSuperuserTeams: { d: ['s'] } });
    const cases: { owner: string; touched: string[]; want: boolean }[] = [
      { owner: 'a', touched: ['c'], want: true },
      { owner: 'b', touched: ['v'], want: true },
      { owner: 'c', touched: ['a'], want: false },
      { owner: 'd', touched: ['s'], want: true },
      { owner: 'e', touched: ['e'], want: true },
      { owner: 'e', touched: ['a'], want: false },
    ];
    for (const c of cases) {
      it(`${c.want ? 'includes' : 'excludes'} clusters of ${c.owner} when ${c.touched.join(', ')} changes`, () => {
        expect(ownerAffected(map, c.owner, new Set(c.touched))).to.equal(c.want);
      });
    }
    it('names every team a PostgresTeam mentions', () => {
      expect(
        [
          ...teamsNamedBy({
            spec: { additionalTeams: { a: ['b'] }, additionalSuperuserTeams: { c: ['d'] }, additionalMembers: { e: ['person'] } },
          }),
        ].sort(),
      ).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    });
  });
});

describe('team-role-sync: the teams and members of a cluster', () => {
  const config = (o: Partial<OperatorConfig> = {}): OperatorConfig => ({
    ...DEFAULT_OPERATOR_CONFIG,
    enableTeamsApi: true,
    enablePostgresTeamCrd: true,
    ...o,
  });
  const map = teams({
    additionalTeams: { acid: ['b-team', 'virtual'], virtual: ['c-team'] },
    additionalSuperuserTeams: { acid: ['dba'] },
    additionalMembers: { acid: ['tia'], virtual: ['flynch'] },
  });

  it('takes the owner, additional teams transitively, and leaves PostgresTeam superusers out unless enabled', () => {
    expect(clusterTeams('acid', config(), map)).to.deep.equal({
      owner: 'acid',
      superuserTeams: [],
      regularTeams: ['acid', 'b-team', 'c-team', 'virtual'],
      ownerIsSuperuser: false,
    });
  });

  it('adds PostgresTeam superuser teams with enable_postgres_team_crd_superusers and postgres_superuser_teams always', () => {
    const t = clusterTeams('acid', config({ enablePostgresTeamCrdSuperusers: true, postgresSuperuserTeams: ['ops'] }), map);
    expect(t.superuserTeams).to.deep.equal(['dba', 'ops']);
  });

  it('ignores PostgresTeams without enable_postgres_team_crd', () => {
    expect(clusterTeams('acid', config({ enablePostgresTeamCrd: false, enablePostgresTeamCrdSuperusers: true }), map)).to.deep.include({
      superuserTeams: [],
      regularTeams: ['acid'],
    });
  });

  it('makes an owning team that is a superuser team superusers, not ordinary members', () => {
    const t = clusterTeams('acid', config({ postgresSuperuserTeams: ['acid'] }), map);
    expect(t.superuserTeams).to.deep.equal(['acid']);
    expect(t.regularTeams).to.not.include('acid');
  });

  it('merges API members with additionalMembers per team', () => {
    expect(teamMembers('acid', config(), map, ['jane', 'tia']).sort()).to.deep.equal(['jane', 'tia']);
    expect(teamMembers('acid', config({ enableTeamsApi: false }), map, ['jane'])).to.deep.equal(['tia']);
    expect(teamMembers('acid', config({ enablePostgresTeamCrd: false }), map, ['jane'])).to.deep.equal(['jane']);
  });

  it('lets superuser win when a person is in a superuser team and an ordinary one, and owners with enable_team_superuser', () => {
    const t = clusterTeams('acid', config({ enablePostgresTeamCrdSuperusers: true, enableTeamSuperuser: false }), map);
    const api: Record<string, string[]> = { acid: ['jane', 'joe'], dba: ['joe'], 'b-team': ['bea'], 'c-team': ['cid'] };
    const members = resolveMembers(t, (team) => teamMembers(team, config(), map, api[team] ?? []));
    expect([...members.values()].map((m) => [m.name, m.superuser])).to.have.deep.members([
      ['jane', false],
      ['joe', true],
      ['tia', false],
      ['bea', false],
      ['cid', false],
      ['flynch', false],
    ]);
    expect(members.get('joe')?.teams).to.deep.equal(['acid', 'dba']);
    const owners = resolveMembers(clusterTeams('acid', config({ enableTeamSuperuser: true }), map), (team) => api[team] ?? []);
    expect(owners.get('jane')?.superuser).to.equal(true);
    expect(owners.get('bea')?.superuser).to.equal(false);
  });
});

describe('team-role-sync: humanRoles', () => {
  const config = {
    pamRoleName: 'zalandos',
    teamAdminRole: 'admin',
    teamApiRoleConfiguration: { log_statement: 'all' },
    protectedRoleNames: ['admin', 'cron_admin'],
  };
  const member = (name: string, superuser = false): { name: string; superuser: boolean; teams: string[] } => ({
    name,
    superuser,
    teams: ['acid'],
  });

  it('gives members LOGIN, the PAM and admin roles, superusers SUPERUSER and the PAM role only, and the configured settings', () => {
    const { roles, problems } = humanRoles([member('jane'), member('joe', true)], config, new Map());
    expect(problems).to.deep.equal([]);
    expect(roles).to.deep.equal([
      {
        name: 'jane',
        flags: { LOGIN: true, SUPERUSER: false },
        memberOf: ['zalandos', 'admin'],
        admins: [],
        parameters: { log_statement: 'all' },
      },
      { name: 'joe', flags: { LOGIN: true, SUPERUSER: true }, memberOf: ['zalandos'], admins: [], parameters: { log_statement: 'all' } },
    ]);
  });

  it('never sets a password', () => {
    const { roles } = humanRoles([member('jane')], config, new Map());
    expect(roles[0]).to.not.have.property('password');
  });

  const skipped: { name: string; why: RegExp }[] = [
    { name: 'admin', why: /protected role/ },
    { name: 'postgres', why: /a system user/ },
    { name: 'app_user', why: /a user of the cluster manifest/ },
    { name: 'zalandos', why: /PAM or team admin role/ },
    { name: 'pg_monitor', why: /pg_/ },
    { name: 'x'.repeat(64), why: /64 bytes long/ },
    { name: '', why: /is empty/ },
    { name: 'nul\0name', why: /NUL/ },
  ];
  for (const s of skipped) {
    it(`skips a member named ${JSON.stringify(s.name.slice(0, 12))} and says why`, () => {
      const reserved = new Map([
        ['postgres', 'a system user'],
        ['app_user', 'a user of the cluster manifest'],
      ]);
      const { roles, problems } = humanRoles([member(s.name), member('ok')], config, reserved);
      expect(roles.map((r) => r.name)).to.deep.equal(['ok']);
      expect(problems).to.have.length(1);
      expect(problems[0]).to.match(s.why);
    });
  }

  it('keeps a hostile-looking name as it is: quoting makes it harmless', () => {
    const name = 'x"; DROP ROLE postgres; --';
    expect(humanRoles([member(name)], config, new Map()).roles.map((r) => r.name)).to.deep.equal([name]);
  });

  it('drops invalid parameter names from team_api_role_configuration with a problem, and leaves settings alone when none is left', () => {
    const { roles, problems } = humanRoles([member('jane')], { ...config, teamApiRoleConfiguration: { 'bad name; DROP': 'x' } }, new Map());
    expect(roles[0]).to.not.have.property('parameters');
    expect(problems[0]).to.match(/team_api_role_configuration/);
  });
});
