import type { V1Secret } from '@kubernetes/client-node';
import type { OperatorConfig, PostgresSpec } from '@pgfn/api';
import {
  buildCluster,
  mustMarkPodsForRotation,
  podRotationReasons,
  secretHolders,
  type BuildResult,
  type PasswordChange,
  type SecretClaim,
} from '@pgfn/builder';
import { expect } from 'chai';
import { cluster, config, inputs, NOW, numberedPasswords, secretWith } from './support.js';

const day = (n: number): Date => new Date(NOW.getTime() + n * 86_400_000);
const secretName = (user: string): string => `${user.replaceAll('_', '-')}.acid-test.credentials.postgresql.acid.zalan.do`;
const ROTATING = config({ passwordRotationInterval: 1 });

/** Builds like successive reconciles: each build reads the Secrets the previous one wrote. */
class Cluster {
  private secrets = new Map<string, V1Secret>();
  private readonly newPassword = numberedPasswords('drawn');
  constructor(
    public spec: Partial<PostgresSpec>,
    public cfg: OperatorConfig = ROTATING,
  ) {}

  build(now: Date): BuildResult {
    const result = buildCluster(
      inputs(cluster(this.spec), this.cfg, { now, newPassword: this.newPassword, existingSecrets: this.secrets }),
    );
    expect(result.errors.filter((e) => e.severity !== 'warning')).to.deep.equal([]);
    this.secrets = new Map(result.objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, o as V1Secret]));
    return result;
  }

  /** Replaces one Secret as someone editing it by hand would. */
  edit(user: string, data: Record<string, string>): void {
    this.secrets.set(secretName(user), secretWith(secretName(user), 'test', data));
  }

  drop(user: string): void {
    this.secrets.delete(secretName(user));
  }
}

const change = (result: BuildResult, role: string): PasswordChange | undefined => result.passwordChanges.find((c) => c.role === role);

describe('passwordChanges of buildCluster', () => {
  it('reports every Secret of a new cluster as created, and marks no pods', () => {
    const result = new Cluster({ users: { app: [] }, enableConnectionPooler: true }).build(NOW);
    expect(result.passwordChanges.map((c) => [c.role, c.kind, c.systemUser])).to.deep.equal([
      ['app', 'created', false],
      ['pooler', 'created', false],
      ['postgres', 'created', true],
      ['standby', 'created', true],
    ]);
    expect(change(result, 'postgres')).to.deep.equal({
      role: 'postgres',
      username: 'postgres',
      secretName: secretName('postgres'),
      namespace: 'test',
      kind: 'created',
      systemUser: true,
    });
    expect(mustMarkPodsForRotation(result.passwordChanges)).to.equal(false);
  });

  it('reports nothing when every password is kept', () => {
    const c = new Cluster({ users: { app: [] }, usersWithInPlaceSecretRotation: ['postgres'] });
    c.build(NOW);
    const again = c.build(new Date(NOW.getTime() + 3_600_000));
    expect(again.passwordChanges).to.deep.equal([]);
    expect(mustMarkPodsForRotation(again.passwordChanges)).to.equal(false);
  });

  interface Case {
    readonly about: string;
    readonly spec: Partial<PostgresSpec>;
    readonly role: string;
    /** What happens between the first build (day 0) and the second (day 2), if anything. */
    readonly between?: (c: Cluster) => void;
    readonly want: Partial<PasswordChange>;
    readonly marksPods: boolean;
  }
  const cases: Case[] = [
    {
      about: 'in-place rotation of the superuser',
      spec: { usersWithInPlaceSecretRotation: ['postgres'] },
      role: 'postgres',
      want: { kind: 'rotated-in-place', username: 'postgres', systemUser: true, restartPods: 'postgres' },
      marksPods: true,
    },
    {
      about: 'in-place rotation of the replication user',
      spec: { usersWithInPlaceSecretRotation: ['standby'] },
      role: 'standby',
      want: { kind: 'rotated-in-place', username: 'standby', systemUser: true, restartPods: 'postgres' },
      marksPods: true,
    },
    {
      about: 'in-place rotation of a manifest user',
      spec: { users: { flyway: [] }, usersWithInPlaceSecretRotation: ['flyway'] },
      role: 'flyway',
      want: { kind: 'rotated-in-place', username: 'flyway', systemUser: false },
      marksPods: false,
    },
    {
      about: 'rotation of a manifest user to a rotation user',
      spec: { users: { app: [] }, usersWithSecretRotation: ['app'] },
      role: 'app',
      want: { kind: 'rotated-new-user', username: 'app260303', systemUser: false },
      marksPods: false,
    },
    {
      about: 'rotation of the superuser to a rotation user (the role keeps its password)',
      spec: { usersWithSecretRotation: ['postgres'] },
      role: 'postgres',
      want: { kind: 'rotated-new-user', username: 'postgres260303', systemUser: true },
      marksPods: false,
    },
    {
      about: "in-place rotation of the pooler user (its pods, not Spilo's)",
      spec: { enableConnectionPooler: true, usersWithInPlaceSecretRotation: ['pooler'] },
      role: 'pooler',
      want: { kind: 'rotated-in-place', systemUser: false, restartPods: 'pooler' },
      marksPods: false,
    },
    {
      about: 'a superuser Secret emptied by hand',
      spec: {},
      role: 'postgres',
      between: (c) => c.edit('postgres', { username: 'postgres', password: '' }),
      want: { kind: 'reset', username: 'postgres', systemUser: true, restartPods: 'postgres' },
      marksPods: true,
    },
    {
      about: 'a replication user Secret deleted by hand (recreated as upstream does, without a rollout)',
      spec: {},
      role: 'standby',
      between: (c) => c.drop('standby'),
      want: { kind: 'created', systemUser: true },
      marksPods: false,
    },
  ];
  for (const t of cases) {
    it(`reports ${t.about}${t.marksPods ? ' and marks the pods' : ', marking no pods'}`, () => {
      const c = new Cluster(t.spec);
      c.build(NOW);
      t.between?.(c);
      const result = c.build(day(2));
      expect(change(result, t.role)).to.deep.include({ role: t.role, secretName: secretName(t.role), ...t.want });
      expect(
        result.passwordChanges.filter((x) => x.role !== t.role),
        'no other password changes',
      ).to.deep.equal([]);
      expect(mustMarkPodsForRotation(result.passwordChanges)).to.equal(t.marksPods);
    });
  }

  const resets: [string, string, boolean][] = [
    ['the superuser', 'postgres', true],
    ['a manifest user', 'app', false],
  ];
  for (const [about, role, marksPods] of resets) {
    it(`reports the reset of ${about} when its rotation is switched off${marksPods ? ', and marks the pods' : ''}`, () => {
      const c = new Cluster({ users: { app: [] }, usersWithSecretRotation: [role] });
      c.build(NOW);
      expect(change(c.build(day(2)), role)?.username).to.equal(`${role}260303`);
      c.spec = { users: { app: [] } };
      const off = c.build(day(2));
      expect(change(off, role)).to.deep.include({ kind: 'reset', username: role, systemUser: role === 'postgres' });
      expect(mustMarkPodsForRotation(off.passwordChanges)).to.equal(marksPods);
    });
  }

  it('rotates nothing in a standby cluster, so marks no pods', () => {
    const c = new Cluster({ usersWithInPlaceSecretRotation: ['postgres', 'standby'], standby: { s3_wal_path: 's3://bucket/wal' } });
    c.build(NOW);
    expect(c.build(day(10)).passwordChanges).to.deep.equal([]);
  });

  it('reports nothing for an invalid manifest', () => {
    expect(buildCluster(inputs(cluster({ postgresql: { version: '9.6' } }))).passwordChanges).to.deep.equal([]);
  });

  it('warns when a rotation user name would be too long for Postgres, and keeps the password', () => {
    const long = 'u'.repeat(60);
    const c = new Cluster({ users: { [long]: [] }, usersWithSecretRotation: [long] });
    c.build(NOW);
    const result = c.build(day(2));
    expect(result.passwordChanges).to.deep.equal([]);
    expect(result.errors.map((e) => e.message).join('\n')).to.match(/is not rotated: rotation user "u+260303" is 66 bytes long/);
  });
});

describe('podRotationReasons', () => {
  const base = { username: 'x', secretName: 's', namespace: 'test' };
  const changes: PasswordChange[] = [
    { ...base, role: 'postgres', kind: 'rotated-in-place', systemUser: true, restartPods: 'postgres' },
    { ...base, role: 'standby', kind: 'reset', systemUser: true, restartPods: 'postgres' },
    { ...base, role: 'pooler', kind: 'rotated-in-place', systemUser: false, restartPods: 'pooler' },
    { ...base, role: 'app', kind: 'rotated-in-place', systemUser: false },
  ];
  it('names each system user whose password changed under the Spilo pods', () => {
    expect(podRotationReasons(changes)).to.deep.equal([
      'the password of system user postgres was rotated in place',
      'the password of system user standby was reset',
    ]);
  });
  it('names the pooler user for the pooler pods', () => {
    expect(podRotationReasons(changes, 'pooler')).to.deep.equal(['the password of pooler user pooler was rotated in place']);
  });
});

describe('secretHolders', () => {
  const claim = (role: string, origin: SecretClaim['origin'], held?: string): SecretClaim => ({
    role,
    origin,
    secret: 'test/s',
    ...(held === undefined ? {} : { held }),
  });
  const cases: [string, SecretClaim[], string][] = [
    ['the higher origin when there is no Secret yet', [claim('a-b', 'manifest'), claim('a_b', 'bootstrap')], 'a_b'],
    ['the first by name on equal origins', [claim('a_b', 'manifest'), claim('a-b', 'manifest')], 'a-b'],
    ['the role the existing Secret names', [claim('a-b', 'manifest', 'a-b'), claim('a_b', 'bootstrap', 'a-b')], 'a-b'],
    [
      'the role whose rotation user the existing Secret names',
      [claim('a-b', 'manifest', 'a-b260303'), claim('a_b', 'bootstrap', 'a-b260303')],
      'a-b',
    ],
  ];
  for (const [about, claims, want] of cases) {
    it(`gives a shared Secret to ${about}`, () => expect(secretHolders(claims).get('test/s')).to.equal(want));
  }
});
