import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { Postgresql } from '@pgfn/api';
import {
  CSRF_COOKIE,
  EMPTY_FORM,
  csrfValid,
  formFromBody,
  formFromManifest,
  manifestFromForm,
  registerFleetMetrics,
  summarize,
  userKubeConfig,
  writeIdentityFromEnv,
} from '@pgfn/ui';
import { esc, h } from '../../shared/ui/src/html.js';

const cluster = (name: string, extra: Partial<Postgresql['spec']> = {}, status?: Postgresql['status']): Postgresql => ({
  apiVersion: 'acid.zalan.do/v1',
  kind: 'postgresql',
  metadata: { name, namespace: 'team-a' },
  spec: { teamId: 'acid', numberOfInstances: 2, postgresql: { version: '17' }, volume: { size: '1Gi' }, ...extra },
  ...(status === undefined ? {} : { status }),
});
const pod = (name: string, clusterName: string, role: string, phase = 'Running') => ({
  metadata: { name, namespace: 'team-a', labels: { 'cluster-name': clusterName, 'spilo-role': role } },
  status: { phase, podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
});

describe('ui: pure parts', () => {
  it('summarizes clusters with their pods, roles, masters, pooler, last verified backup and newest Events', () => {
    const [one, two] = summarize({
      clusters: [
        cluster('acid-b', { enableConnectionPooler: true }),
        cluster(
          'acid-a',
          {},
          {
            PostgresClusterStatus: 'Running',
            conditions: [
              { type: 'BackupVerified', status: 'True', lastTransitionTime: '2026-12-05T01:00:00Z', message: 'base backup 3 h old' },
            ],
          },
        ),
      ],
      spiloPods: [
        pod('acid-a-1', 'acid-a', 'replica'),
        pod('acid-a-0', 'acid-a', 'master'),
        pod('acid-b-0', 'acid-b', 'master', 'Pending'),
      ],
      poolerPods: [
        { metadata: { name: 'acid-b-pooler-x', namespace: 'team-a', labels: { 'cluster-name': 'acid-b' } }, status: { phase: 'Running' } },
      ],
      events: [
        {
          involvedObject: { kind: 'postgresql', name: 'acid-a', namespace: 'team-a' },
          reason: 'Old',
          lastTimestamp: '2026-12-05T00:00:00Z',
        },
        {
          involvedObject: { kind: 'postgresql', name: 'acid-a', namespace: 'team-a' },
          reason: 'New',
          lastTimestamp: '2026-12-05T02:00:00Z',
        },
        { involvedObject: { kind: 'Pod', name: 'acid-a', namespace: 'team-a' }, reason: 'NotOurs', lastTimestamp: '2026-12-05T03:00:00Z' },
      ],
      clusterLabel: 'cluster-name',
      roleLabel: 'spilo-role',
    });
    expect(one).to.deep.include({ name: 'acid-a', status: 'Running', masters: ['acid-a-0'] });
    expect(one?.pods.map((p) => `${p.name}:${p.role}`)).to.deep.equal(['acid-a-0:master', 'acid-a-1:replica']);
    expect(one?.lastVerifiedBackup).to.deep.equal({ time: '2026-12-05T01:00:00Z', message: 'base backup 3 h old' });
    expect(one?.events.map((e) => e.reason)).to.deep.equal(['New', 'Old']);
    expect(two).to.deep.include({ name: 'acid-b', status: 'Unknown', masters: [], pooler: { enabled: true, pods: 1, running: 1 } });
  });

  it('exports fleet gauges from one read per scrape', async () => {
    let reads = 0;
    const registry = new Registry();
    const summaries = summarize({
      clusters: [
        cluster('acid-a', {}, { PostgresClusterStatus: 'Running' }),
        cluster('acid-b', {}, { PostgresClusterStatus: 'SyncFailed' }),
      ],
      spiloPods: [pod('acid-a-0', 'acid-a', 'master'), pod('acid-a-1', 'acid-a', 'master')],
      poolerPods: [],
      events: [],
      clusterLabel: 'cluster-name',
      roleLabel: 'spilo-role',
    });
    registerFleetMetrics(registry, () => {
      reads++;
      return Promise.resolve(summaries);
    });
    const text = await registry.metrics();
    expect(reads).to.equal(1);
    expect(text).to.include('pgfn_clusters{status="Running"} 1').and.include('pgfn_clusters{status="SyncFailed"} 1');
    expect(text).to.include('pgfn_cluster_masters{namespace="team-a",cluster="acid-a"} 2');
    expect(text).to.include('pgfn_cluster_pods_running{namespace="team-a",cluster="acid-b"} 0');
    expect(text).to.include('pgfn_cluster_info{namespace="team-a",cluster="acid-b",status="SyncFailed",team="acid",version="17"} 1');
  });

  it('turns the form into a manifest and back; reports what it cannot parse', () => {
    const form = formFromBody({
      namespace: 'team-a',
      name: 'acid-x',
      team: 'acid',
      version: '16',
      instances: '3',
      volumeSize: '5Gi',
      pooler: 'on',
      users: 'app_owner: createdb, login\nreader:',
      databases: 'app: app_owner',
    });
    const { manifest, problems } = manifestFromForm(form);
    expect(problems).to.deep.equal([]);
    expect(manifest?.spec).to.deep.equal({
      teamId: 'acid',
      numberOfInstances: 3,
      postgresql: { version: '16' },
      volume: { size: '5Gi' },
      enableConnectionPooler: true,
      users: { app_owner: ['createdb', 'login'], reader: [] },
      databases: { app: 'app_owner' },
    });
    expect(formFromManifest(manifest!)).to.deep.equal({ ...form, users: 'app_owner: createdb, login\nreader:' });
    expect(manifestFromForm({ ...EMPTY_FORM, instances: 'x', databases: 'lonely' }).problems.map((p) => p.field)).to.deep.equal([
      'instances',
      'name',
      'team',
      'databases',
    ]);
  });

  it('accepts a POST only with the cookie and the field equal', () => {
    const token = 'a'.repeat(43);
    expect(csrfValid(`x=1; ${CSRF_COOKIE}=${token}`, token)).to.equal(true);
    expect(csrfValid(`${CSRF_COOKIE}=${token}`, `${'a'.repeat(42)}b`)).to.equal(false);
    expect(csrfValid(undefined, token)).to.equal(false);
    expect(csrfValid(`${CSRF_COOKIE}=${token}`, undefined)).to.equal(false);
    expect(csrfValid(`${CSRF_COOKIE}=short`, 'short'), 'too short to be ours').to.equal(false);
  });

  it("writes as the forwarded token or an allowed impersonated user, never as the UI's own credentials", () => {
    const base = new k8s.KubeConfig();
    base.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
      users: [{ name: 'ui', token: 'ui-sa-token' }],
      contexts: [{ name: 'ui', cluster: 'c', user: 'ui' }],
      currentContext: 'ui',
    });
    const byToken = userKubeConfig(base, { mode: 'token' }, { authorization: 'Bearer user-token' });
    expect('kc' in byToken && byToken.kc.getCurrentUser()?.token).to.equal('user-token');
    const forwarded = userKubeConfig(base, { mode: 'token' }, { 'x-forwarded-access-token': 'proxy-token' });
    expect('kc' in forwarded && forwarded.kc.getCurrentUser()?.token).to.equal('proxy-token');
    expect(userKubeConfig(base, { mode: 'token' }, {}))
      .to.have.property('refused')
      .that.includes('no user token');
    const allowed = userKubeConfig(base, { mode: 'impersonate', allow: ['alice'] }, { 'x-forwarded-user': 'alice' });
    expect('kc' in allowed && allowed.kc.getCurrentUser()).to.include({ token: 'ui-sa-token', impersonateUser: 'alice' });
    expect(userKubeConfig(base, { mode: 'impersonate', allow: ['alice'] }, { 'x-forwarded-user': 'mallory' }))
      .to.have.property('refused')
      .that.includes('not in the UI');
    expect(writeIdentityFromEnv({ PGFN_UI_WRITE_IDENTITY: 'impersonate', PGFN_UI_IMPERSONATE_ALLOW: 'alice, bob' })).to.deep.equal({
      mode: 'impersonate',
      allow: ['alice', 'bob'],
    });
    expect(() => writeIdentityFromEnv({ PGFN_UI_WRITE_IDENTITY: 'admin' })).to.throw(/token or impersonate/);
  });

  it('escapes everything interpolated into pages', () => {
    expect(esc(`<script>"x" & 'y'</script>`)).to.equal('&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;');
    expect(h`<td>${'<b>'}</td>${h`<i>kept</i>`}`.text).to.equal('<td>&lt;b&gt;</td><i>kept</i>');
  });
});
