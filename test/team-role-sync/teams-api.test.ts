import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { fetchTeam, parseMembers, teamUrl, TeamsApiError } from '../../functions/team-role-sync/src/index.js';
import { startTeamsApi, type FakeTeamsApi } from './support.js';

describe('team-role-sync: Teams API client (against a local HTTP server)', () => {
  let api: FakeTeamsApi;
  before(async () => {
    api = await startTeamsApi();
  });
  after(async () => {
    await api.stop();
  });
  beforeEach(() => {
    api.mode = 'ok';
    api.bareList = false;
    api.teams.clear();
    api.requests.length = 0;
  });
  const options = (): { url: string; token: string; timeoutMs: number; attempts: number; backoffMs: number } => ({
    url: api.url,
    token: 's3cret',
    timeoutMs: 300,
    attempts: 2,
    backoffMs: 10,
  });

  it('GETs /teams/<team> with the Bearer token and reads the member list of the team object', async () => {
    api.teams.set('acid', ['jane', 'joe', 'jane']);
    expect(await fetchTeam(options(), 'acid')).to.deep.equal({ found: true, members: ['jane', 'joe'] });
    expect(api.requests).to.deep.equal([{ path: '/api/teams/acid', authorization: 'Bearer s3cret' }]);
  });

  it('accepts the bare list of names of the minimal API', async () => {
    api.teams.set('acid', ['jane']);
    api.bareList = true;
    expect(await fetchTeam(options(), 'acid')).to.deep.equal({ found: true, members: ['jane'] });
  });

  it('encodes the team name as one path segment', async () => {
    api.teams.set('a/b?c', ['x']);
    expect((await fetchTeam(options(), 'a/b?c')).members).to.deep.equal(['x']);
    expect(teamUrl('https://teams.example.com/api///', 'a b')).to.equal('https://teams.example.com/api/teams/a%20b');
  });

  it('treats 404 as a team without members, with a warning', async () => {
    const lookup = await fetchTeam(options(), 'nobody');
    expect(lookup.found).to.equal(false);
    expect(lookup.members).to.deep.equal([]);
    if (!lookup.found) expect(lookup.warning).to.match(/does not know team "nobody"/);
  });

  const failures: { mode: FakeTeamsApi['mode']; message: RegExp; requests: number }[] = [
    { mode: 'error-500', message: /answered 500 for team "acid": "database is on fire"/, requests: 2 },
    { mode: 'garbage', message: /neither a list of names nor an object with a "member" list/, requests: 1 },
    { mode: 'not-json', message: /not JSON/, requests: 1 },
    { mode: 'hang', message: /no answer within 300 ms/, requests: 2 },
  ];
  for (const f of failures) {
    const what = f.mode === 'hang' ? 'does not answer' : `answers ${f.mode}`;
    it(`fails (never an empty team) when the API ${what}, retrying only what may pass`, async () => {
      api.teams.set('acid', ['jane']);
      api.mode = f.mode;
      const err = await fetchTeam(options(), 'acid').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(TeamsApiError);
      expect((err as Error).message).to.match(f.message);
      expect(api.requests).to.have.length(f.requests);
    });
  }

  it('fails when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const err = await fetchTeam({ ...options(), url: `http://127.0.0.1:${port}/api` }, 'acid').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.match(/cannot reach the Teams API for team "acid".*ECONNREFUSED/);
  });

  const bodies: { body: string; ok: boolean }[] = [
    { body: '{"member": ["a", "b"], "name": "x"}', ok: true },
    { body: '["a"]', ok: true },
    { body: '{"member": []}', ok: true },
    { body: '{"name": "x"}', ok: false },
    { body: '["a", 3]', ok: false },
    { body: 'null', ok: false },
    { body: '', ok: false },
  ];
  for (const b of bodies) {
    it(`${b.ok ? 'accepts' : 'rejects'} the body ${b.body || '(empty)'}`, () => {
      const parse = (): string[] => parseMembers('acid', b.body);
      if (b.ok) expect(parse).to.not.throw();
      else expect(parse).to.throw(TeamsApiError);
    });
  }
});
