import { resolveContainerEnv, SpiloConfigError, spiloDeepUpdate, spiloPatroniConfig, type SpiloHostFacts } from '@pgfn/node-agent';
import { spiloConfig, spiloManifest } from '@pgfn/node-agent/testing';
import { buildStatefulSet } from '@pgfn/builder';
import { expect } from 'chai';

const GiB = 2 ** 30;
const host = (overrides: Partial<SpiloHostFacts> = {}): SpiloHostFacts => ({
  memoryBytes: GiB,
  cpuCount: 2,
  installedMajors: ['15'],
  dataVersion: undefined,
  libraryExists: (_major, lib) => lib === 'pg_stat_statements',
  ...overrides,
});

/** The variables the operator sets on a Spilo container (k8sres.go), as the agent resolves them. */
const operatorEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  KUBERNETES_SERVICE_HOST: '127.0.0.1',
  KUBERNETES_SERVICE_PORT: '6443',
  HOSTNAME: 'acid-x-0',
  SCOPE: 'acid-x',
  PGROOT: '/home/postgres/pgdata/pgroot',
  POD_IP: '127.0.10.5',
  POD_NAMESPACE: 'team',
  PGUSER_SUPERUSER: 'postgres',
  PGPASSWORD_SUPERUSER: 'su-pass',
  PGUSER_STANDBY: 'standby',
  PGPASSWORD_STANDBY: 'st-pass',
  KUBERNETES_SCOPE_LABEL: 'cluster-name',
  KUBERNETES_ROLE_LABEL: 'spilo-role',
  KUBERNETES_LABELS: '{"application":"spilo"}',
  DCS_ENABLE_KUBERNETES_API: 'true',
  PGVERSION: '15',
  HUMAN_ROLE: 'zalandos',
  PAM_OAUTH2: '',
  ...extra,
});

type Tree = Record<string, unknown>;
const at = (tree: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Tree | undefined)?.[key], tree);

describe('spiloPatroniConfig', () => {
  const plan = spiloPatroniConfig(operatorEnv(), host());
  const config = plan.config;

  const expectations: [string, unknown][] = [
    ['scope', 'acid-x'],
    ['namespace', 'team'],
    ['restapi.connect_address', '127.0.10.5:8008'],
    ['postgresql.name', 'acid-x-0'],
    ['postgresql.connect_address', '127.0.10.5:5432'],
    ['postgresql.data_dir', '/home/postgres/pgdata/pgroot/data'],
    ['postgresql.bin_dir', '/usr/lib/postgresql/15/bin'],
    ['postgresql.pgpass', '/run/postgresql/pgpass'],
    ['postgresql.use_unix_socket', true],
    ['postgresql.authentication.superuser', { username: 'postgres', password: 'su-pass' }],
    ['postgresql.authentication.replication', { username: 'standby', password: 'st-pass' }],
    ['postgresql.callbacks', { on_role_change: '/run/scripts/on_role_change.sh zalandos true' }],
    ['postgresql.create_replica_method', ['basebackup_fast_xlog']],
    ['postgresql.basebackup_fast_xlog', { command: '/run/scripts/basebackup.sh', retries: 2 }],
    ['postgresql.parameters.archive_command', '/bin/true'],
    ['postgresql.parameters.ssl_cert_file', '/run/certs/server.crt'],
    ['postgresql.parameters.log_directory', '../pg_log'],
    ['bootstrap.post_init', '/run/scripts/post_init.sh "zalandos"'],
    ['bootstrap.dcs.ttl', 30],
    ['bootstrap.dcs.loop_wait', 10],
    ['bootstrap.dcs.retry_timeout', 10],
    ['bootstrap.dcs.maximum_lag_on_failover', 33554432],
    ['bootstrap.dcs.postgresql.use_pg_rewind', true],
    ['bootstrap.dcs.postgresql.parameters.wal_level', 'hot_standby'],
    ['bootstrap.initdb', [{ encoding: 'UTF8' }, { locale: 'en_US.UTF-8' }, 'data-checksums']],
    ['kubernetes.labels', { application: 'spilo' }],
    ['kubernetes.scope_label', 'cluster-name'],
    ['kubernetes.role_label', 'spilo-role'],
    ['kubernetes.use_endpoints', true],
    ['kubernetes.pod_ip', '127.0.10.5'],
    ['kubernetes.ports', [{ port: 5432, name: 'postgresql' }]],
  ];
  for (const [path, value] of expectations) {
    it(`sets ${path} as Spilo does`, () => expect(at(config, path)).to.deep.equal(value));
  }

  it('does not bypass the API Service: a loopback API server cannot publish Endpoints default/kubernetes', () => {
    expect(at(config, 'kubernetes.bypass_api_service')).to.equal(undefined);
  });

  it('listens on the pod address instead of every interface, and says so', () => {
    expect(at(config, 'restapi.listen')).to.equal('127.0.10.5:8008');
    expect(at(config, 'postgresql.listen')).to.equal('127.0.10.5:5432');
    expect(plan.adaptations.join('\n')).to.contain('postgresql.listen is 127.0.10.5:5432');
  });

  it('requires TLS for remote connections in pg_hba unless ALLOW_NOSSL is set', () => {
    expect(at(config, 'postgresql.pg_hba')).to.include('hostnossl all           all                all                reject');
    const noSsl = spiloPatroniConfig(operatorEnv({ ALLOW_NOSSL: 'true' }), host()).config;
    expect(at(noSsl, 'postgresql.pg_hba')).to.include('host    all             all                all                md5');
    expect((at(noSsl, 'postgresql.pg_hba') as string[]).join('\n')).not.to.contain('reject');
  });

  it('adds the pam lines for the human role when PAM_OAUTH2 is set', () => {
    const hba = at(
      spiloPatroniConfig(
        operatorEnv({ PAM_OAUTH2: 'https://info.example.com/oauth2/tokeninfo?access_token= uid realm=/employees' }),
        host(),
      ).config,
      'postgresql.pg_hba',
    ) as string[];
    expect(hba.filter((l) => l.includes('+zalandos') && l.endsWith('pam'))).to.have.length(3);
  });

  it('keeps only installed preload libraries and drops the settings of missing ones', () => {
    expect(at(config, 'postgresql.parameters.shared_preload_libraries')).to.equal('pg_stat_statements');
    expect(at(config, 'postgresql.parameters')).to.not.have.any.keys(
      'bg_mon.listen_address',
      'extwlist.extensions',
      'extwlist.custom_path',
    );
  });

  it('keeps preload libraries the user asked for when the major has them', () => {
    const user = spiloPatroniConfig(
      operatorEnv({ SPILO_CONFIGURATION: '{"postgresql":{"parameters":{"shared_preload_libraries":"pg_cron"}}}' }),
      host({ libraryExists: (_major, lib) => lib === 'pg_cron' }),
    ).config;
    expect(at(user, 'postgresql.parameters.shared_preload_libraries')).to.equal('pg_cron');
  });

  it('refuses preload libraries the user asked for that the major lacks, naming a major that has them', () => {
    const env = operatorEnv({
      PGVERSION: '17',
      SPILO_CONFIGURATION: '{"postgresql":{"parameters":{"shared_preload_libraries":"pg_stat_statements,pg_cron"}}}',
    });
    const facts = host({
      installedMajors: ['15', '17'],
      libraryExists: (major, lib) => lib === 'pg_stat_statements' || (major === '15' && lib === 'pg_cron'),
    });
    expect(() => spiloPatroniConfig(env, facts)).to.throw(
      SpiloConfigError,
      'shared_preload_libraries asks for pg_cron, which PostgreSQL 17 on this node does not have (PostgreSQL 15 has it)',
    );
  });

  const memory: [string, number, string, number][] = [
    ['1 GiB', GiB, '204MB', 100],
    ['8 GiB', 8 * GiB, '1638MB', 273],
    ['64 GiB', 64 * GiB, '13107MB', 1000],
  ];
  for (const [label, bytes, sharedBuffers, maxConnections] of memory) {
    it(`sizes shared_buffers and max_connections for a ${label} memory limit`, () => {
      const sized = spiloPatroniConfig(operatorEnv(), host({ memoryBytes: bytes })).config;
      expect(at(sized, 'postgresql.parameters.shared_buffers')).to.equal(sharedBuffers);
      expect(at(sized, 'bootstrap.dcs.postgresql.parameters.max_connections')).to.equal(maxConnections);
    });
  }

  it('merges SPILO_CONFIGURATION the way Spilo does: maps by key, user lists replace, null keeps ours', () => {
    const user = {
      bootstrap: { initdb: [{ 'auth-host': 'md5' }, { 'auth-local': 'trust' }], dcs: { ttl: 10, loop_wait: 2, retry_timeout: null } },
      postgresql: { parameters: { max_wal_senders: 5 } },
    };
    const merged = spiloPatroniConfig(operatorEnv({ SPILO_CONFIGURATION: JSON.stringify(user) }), host()).config;
    expect(at(merged, 'bootstrap.initdb')).to.deep.equal([{ 'auth-host': 'md5' }, { 'auth-local': 'trust' }]);
    expect(at(merged, 'bootstrap.dcs.ttl')).to.equal(10);
    expect(at(merged, 'bootstrap.dcs.loop_wait')).to.equal(2);
    expect(at(merged, 'bootstrap.dcs.retry_timeout')).to.equal(10);
    expect(at(merged, 'bootstrap.dcs.maximum_lag_on_failover')).to.equal(33554432);
    expect(at(merged, 'postgresql.parameters.max_wal_senders')).to.equal(5);
    expect(at(merged, 'postgresql.parameters.logging_collector')).to.equal('on');
  });

  it('prepends a replication line to a user bootstrap.pg_hba without one', () => {
    const merged = spiloPatroniConfig(
      operatorEnv({ SPILO_CONFIGURATION: '{"bootstrap":{"pg_hba":["host all all 0.0.0.0/0 md5"]}}' }),
      host(),
    ).config;
    expect(at(merged, 'bootstrap.pg_hba')).to.deep.equal(['hostssl replication standby all md5', 'host all all 0.0.0.0/0 md5']);
  });

  it('uses ConfigMaps instead of Endpoints when KUBERNETES_USE_CONFIGMAPS is set to anything', () => {
    const cm = spiloPatroniConfig(operatorEnv({ KUBERNETES_USE_CONFIGMAPS: 'false' }), host()).config;
    expect(at(cm, 'kubernetes')).to.not.have.any.keys('use_endpoints', 'ports', 'pod_ip', 'use_configmaps');
  });

  it('fails with a clear sentence when PGVERSION is not installed', () => {
    expect(() => spiloPatroniConfig(operatorEnv({ PGVERSION: '17' }), host())).to.throw(
      SpiloConfigError,
      'PGVERSION=17 asks for PostgreSQL 17, which is not installed on this node (installed: 15; hack/setup.sh installs them)',
    );
  });

  it('adapts to a relocatable build: no pam lines without PAM, sockets in Spilo’s directory and PGHOST there', () => {
    const plan = spiloPatroniConfig(
      operatorEnv({ PGVERSION: '17', PAM_OAUTH2: 'https://example.org/tokeninfo' }),
      host({
        installedMajors: ['15', '17'],
        build: (major) => (major === '17' ? { pam: false, socketDir: '/tmp' } : { pam: true, socketDir: '/var/run/postgresql' }),
      }),
    );
    expect((at(plan.config, 'postgresql.pg_hba') as string[]).filter((l) => l.endsWith('pam'))).to.deep.equal([]);
    expect(at(plan.config, 'postgresql.parameters.unix_socket_directories')).to.equal('/var/run/postgresql');
    expect(plan.extraEnv).to.deep.equal({ PGHOST: '/var/run/postgresql' });
    const debian = spiloPatroniConfig(
      operatorEnv({ PGVERSION: '15', PAM_OAUTH2: 'x' }),
      host({ build: () => ({ pam: true, socketDir: '/var/run/postgresql' }) }),
    );
    expect((at(debian.config, 'postgresql.pg_hba') as string[]).filter((l) => l.endsWith('pam'))).to.have.length(3);
    expect(debian.extraEnv).to.deep.equal({});
  });

  it('follows the data directory version over PGVERSION', () => {
    const p = spiloPatroniConfig(operatorEnv({ PGVERSION: '17' }), host({ installedMajors: ['15', '17'], dataVersion: '15' }));
    expect(p.major).to.equal('15');
    expect(at(p.config, 'postgresql.bin_dir')).to.equal('/usr/lib/postgresql/15/bin');
  });

  it('refuses a configuration without any DCS', () => {
    const env = operatorEnv();
    delete env['DCS_ENABLE_KUBERNETES_API'];
    expect(() => spiloPatroniConfig(env, host())).to.throw(SpiloConfigError, /no DCS is configured/);
  });

  it('rejects a SPILO_CONFIGURATION that is not a mapping', () => {
    expect(() => spiloPatroniConfig(operatorEnv({ SPILO_CONFIGURATION: '[1, 2]' }), host())).to.throw(
      SpiloConfigError,
      'SPILO_CONFIGURATION must be a mapping, but it is a list',
    );
  });

  it('archives WAL to S3 with the envdir Spilo writes (barman-cloud in place of WAL-G)', () => {
    const p = spiloPatroniConfig(
      operatorEnv({
        WAL_S3_BUCKET: 'backups',
        WAL_BUCKET_SCOPE_PREFIX: '',
        WAL_BUCKET_SCOPE_SUFFIX: '/uid-1',
        AWS_ENDPOINT: 'http://127.0.0.1:9000',
        AWS_ACCESS_KEY_ID: 'key',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_REGION: 'eu-central-1',
        USE_WALG_BACKUP: 'true',
      }),
      host(),
    );
    // Spilo runs `wal-g wal-push`; WAL-G cannot be installed here, so barman-cloud archives (ADR 0016).
    expect(at(p.config, 'postgresql.parameters.archive_command')).to.equal('envdir "/run/etc/wal-e.d/env" /run/scripts/wal_push.sh "%p"');
    expect(p.adaptations).to.include(
      'archive_command runs barman-cloud-wal-archive (/run/scripts/wal_push.sh) where Spilo runs wal-g wal-push',
    );
    expect(at(p.config, 'postgresql.recovery_conf.restore_command')).to.equal(
      'envdir "/run/etc/wal-e.d/env" timeout "0" /run/scripts/restore_command.sh "%f" "%p"',
    );
    expect(at(p.config, 'postgresql.create_replica_method')).to.deep.equal(['wal_e', 'basebackup_fast_xlog']);
    expect(p.walEnv).to.deep.include({
      WALE_S3_PREFIX: 's3://backups/spilo/acid-x/uid-1/wal/15',
      WALG_S3_PREFIX: 's3://backups/spilo/acid-x/uid-1/wal/15',
      AWS_ENDPOINT: 'http://127.0.0.1:9000',
      WALE_S3_ENDPOINT: 'http+path://127.0.0.1:9000',
      AWS_S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: 'eu-central-1',
      WALG_DISABLE_S3_SSE: 'true',
      USE_WALG_BACKUP: 'true',
      USE_WALG_RESTORE: 'true',
      AWS_ACCESS_KEY_ID: 'key',
      AWS_SECRET_ACCESS_KEY: 'secret',
      PGPORT: '5432',
      BACKUP_NUM_TO_RETAIN: '5',
      WALE_LOG_DESTINATION: 'stderr',
      TMPDIR: '/home/postgres/pgdata/tmp',
    });
    expect(p.walEnv).to.not.have.key('AWS_INSTANCE_PROFILE');
  });

  it('archives with barman-cloud where Spilo would name wal-e (USE_WALG_BACKUP not true)', () => {
    const p = spiloPatroniConfig(operatorEnv({ WAL_S3_BUCKET: 'backups' }), host());
    expect(at(p.config, 'postgresql.parameters.archive_command')).to.equal('envdir "/run/etc/wal-e.d/env" /run/scripts/wal_push.sh "%p"');
    expect(p.adaptations).to.include(
      'archive_command runs barman-cloud-wal-archive (/run/scripts/wal_push.sh) where Spilo runs wal-e wal-push',
    );
    expect(p.walEnv?.['AWS_INSTANCE_PROFILE']).to.equal('true');
  });

  it('clones from a running cluster with pg_basebackup', () => {
    const p = spiloPatroniConfig(
      operatorEnv({
        CLONE_METHOD: 'CLONE_WITH_BASEBACKUP',
        CLONE_SCOPE: 'acid-src',
        CLONE_HOST: 'acid-src.team',
        CLONE_USER: 'standby',
        CLONE_PASSWORD: 'p:w',
      }),
      host(),
    );
    expect(at(p.config, 'bootstrap.method')).to.equal('clone_with_basebackup');
    expect(at(p.config, 'bootstrap.clone_with_basebackup.command')).to.equal(
      'python3 /run/scripts/clone_with_basebackup.py --pgpass=/home/postgres/.pgpass_acid-src --host=acid-src.team ' +
        '--port=5432 --user="standby"',
    );
    expect(p.clonePgpass).to.deep.equal({ path: '/home/postgres/.pgpass_acid-src', content: 'acid-src.team:5432:*:standby:p\\:w\n' });
  });

  it('follows a remote primary as a standby cluster', () => {
    const p = spiloPatroniConfig(operatorEnv({ STANDBY_HOST: 'acid-src.team', STANDBY_PORT: '5433' }), host());
    expect(at(p.config, 'bootstrap.dcs.standby_cluster')).to.deep.equal({
      create_replica_methods: ['basebackup_fast_xlog'],
      host: 'acid-src.team',
      port: 5433,
    });
  });

  const builderCases = [
    { mode: 'ConfigMaps (operator default)', useConfigMaps: true },
    { mode: 'Endpoints', useConfigMaps: false },
  ];
  for (const { mode, useConfigMaps } of builderCases)
    it(`runs on the environment @pgfn/builder gives a Spilo container, DCS in ${mode}`, async () => {
      const spec = {
        namespace: 'team',
        patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
        config: { kubernetesUseConfigmaps: useConfigMaps },
      };
      const sts = buildStatefulSet(spiloManifest(spec), spiloConfig(spec));
      const pod = { metadata: { name: 'acid-ha-0', namespace: 'team' }, spec: sts.spec?.template.spec };
      const container = sts.spec?.template.spec?.containers[0];
      if (container === undefined || pod.spec === undefined) throw new Error('no container');
      const env = await resolveContainerEnv({ ...pod, spec: pod.spec }, container, {
        sources: { secret: () => Promise.resolve({ password: 'pw', username: 'u' }), configMap: () => Promise.resolve(undefined) },
        facts: { podIP: '127.0.10.9', hostIP: '127.0.10.1', nodeCpu: 2, nodeMemoryBytes: GiB },
        serviceEnv: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '6443' },
      });
      const built = spiloPatroniConfig({ ...env, HOSTNAME: 'acid-ha-0' }, host());
      expect(at(built.config, 'kubernetes.scope_label')).to.equal('cluster-name');
      expect(at(built.config, 'kubernetes.use_endpoints')).to.equal(useConfigMaps ? undefined : true);
      expect(at(built.config, 'kubernetes.pod_ip')).to.equal(useConfigMaps ? undefined : '127.0.10.9');
      expect(at(built.config, 'bootstrap.dcs.ttl')).to.equal(10);
      expect(at(built.config, 'bootstrap.dcs.loop_wait')).to.equal(2);
      expect(at(built.config, 'postgresql.bin_dir')).to.equal('/usr/lib/postgresql/15/bin');
    });
});

describe('spiloDeepUpdate', () => {
  const cases: { scenario: string; user: unknown; generated: unknown; result: unknown }[] = [
    {
      scenario: 'merges mappings key by key',
      user: { a: { x: 1 } },
      generated: { a: { y: 2 }, b: 3 },
      result: { a: { x: 1, y: 2 }, b: 3 },
    },
    { scenario: 'lets a user list replace ours', user: { l: [1] }, generated: { l: [2, 3] }, result: { l: [1] } },
    { scenario: 'keeps ours for a null user value', user: { v: null }, generated: { v: 5 }, result: { v: 5 } },
    { scenario: 'lets a user scalar replace a mapping', user: { v: 'x' }, generated: { v: { deep: true } }, result: { v: 'x' } },
  ];
  for (const c of cases) it(c.scenario, () => expect(spiloDeepUpdate(c.user as never, c.generated as never)).to.deep.equal(c.result));
});
