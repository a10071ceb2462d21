import { expect } from 'chai';
import fc from 'fast-check';
import {
  DEFAULT_OPERATOR_CONFIG,
  fromConfigMap,
  fromOperatorConfiguration,
  toOperatorConfiguration,
  type OperatorConfig,
  type OperatorConfigurationData,
} from '@pgfn/api';

type Prop = keyof OperatorConfig;

function load(configuration: unknown): ReturnType<typeof fromOperatorConfiguration> {
  return fromOperatorConfiguration({ configuration: configuration as OperatorConfigurationData });
}

describe('fromOperatorConfiguration', () => {
  it('returns the defaults and no errors for an empty configuration', () => {
    const { config, errors } = load({});
    expect(errors).to.deep.equal([]);
    expect(config).to.deep.equal(DEFAULT_OPERATOR_CONFIG);
  });

  it('reports a missing configuration and keeps every default', () => {
    const { config, errors } = load(undefined);
    expect(errors.map((e) => e.key)).to.deep.equal(['configuration']);
    expect(config).to.deep.equal(DEFAULT_OPERATOR_CONFIG);
  });

  describe('flattens each group and value type', () => {
    const cases: Array<[Record<string, unknown>, Prop, unknown]> = [
      [{ docker_image: 'spilo:x' }, 'dockerImage', 'spilo:x'],
      [{ workers: 2 }, 'workers', 2],
      [{ min_instances: 1 }, 'minInstances', 1],
      [{ resync_period: '15m' }, 'resyncPeriod', 900],
      [{ enable_shm_volume: false }, 'enableShmVolume', false],
      [{ maintenance_windows: ['Sat:00:00-04:00'] }, 'maintenanceWindows', ['Sat:00:00-04:00']],
      [{ sidecar_docker_images: { exporter: 'exporter:1' } }, 'sidecarDockerImages', { exporter: 'exporter:1' }],
      [{ sidecars: [{ name: 'exporter', image: 'exporter:1' }] }, 'sidecars', [{ name: 'exporter', image: 'exporter:1' }]],
      [{ users: { super_username: 'root', enable_password_rotation: true } }, 'enablePasswordRotation', true],
      [{ users: { password_rotation_interval: 30 } }, 'passwordRotationInterval', 30],
      [{ major_version_upgrade: { major_version_upgrade_mode: 'full' } }, 'majorVersionUpgradeMode', 'full'],
      [{ kubernetes: { pod_terminate_grace_period: '1m30s' } }, 'podTerminateGracePeriod', 90],
      [{ kubernetes: { cluster_labels: { application: 'db', tier: 'x' } } }, 'clusterLabels', { application: 'db', tier: 'x' }],
      [{ kubernetes: { inherited_labels: ['team', 'cost'] } }, 'inheritedLabels', ['team', 'cost']],
      [{ kubernetes: { toleration: { key: 'db' } } }, 'toleration', { key: 'db' }],
      [{ kubernetes: { spilo_runasuser: 101 } }, 'spiloRunasuser', 101],
      [{ kubernetes: { oauth_token_secret_name: 'ops/token' } }, 'oauthTokenSecretName', { namespace: 'ops', name: 'token' }],
      [{ kubernetes: { pod_environment_configmap: 'pod-env' } }, 'podEnvironmentConfigmap', { namespace: '', name: 'pod-env' }],
      [{ kubernetes: { liveness_probe: { failureThreshold: 3 } } }, 'livenessProbe', { failureThreshold: 3 }],
      [
        {
          kubernetes: {
            infrastructure_roles_secrets: [
              { secretname: 'roles', userkey: 'user', passwordkey: 'password', rolekey: 'role', template: true },
            ],
          },
        },
        'infrastructureRolesSecrets',
        [
          {
            secretName: { namespace: '', name: 'roles' },
            userKey: 'user',
            passwordKey: 'password',
            roleKey: 'role',
            defaultUserValue: '',
            defaultRoleValue: '',
            details: '',
            template: true,
          },
        ],
      ],
      [{ postgres_pod_resources: { default_cpu_request: '250m' } }, 'defaultCpuRequest', '250m'],
      [{ timeouts: { patroni_api_check_timeout: '10s' } }, 'patroniApiCheckTimeout', 10],
      [{ load_balancer: { enable_master_load_balancer: false } }, 'enableMasterLoadBalancer', false],
      [{ aws_or_gcp: { wal_s3_bucket: 'wal' } }, 'walS3Bucket', 'wal'],
      [{ debug: { debug_logging: false } }, 'debugLogging', false],
      [{ teams_api: { protected_role_names: ['admin'] } }, 'protectedRoleNames', ['admin']],
      [{ logging_rest_api: { api_port: 9000 } }, 'apiPort', 9000],
      [{ scalyr: { scalyr_image: 'scalyr:1' } }, 'scalyrImage', 'scalyr:1'],
      [{ logical_backup: { logical_backup_ttl_seconds_after_finished: 60 } }, 'logicalBackupTtlSecondsAfterFinished', 60],
      [{ connection_pooler: { connection_pooler_number_of_instances: 3 } }, 'connectionPoolerNumberOfInstances', 3],
      [{ patroni: { enable_patroni_failsafe_mode: true } }, 'enablePatroniFailsafeMode', true],
    ];
    for (const [configuration, prop, expected] of cases) {
      it(`${JSON.stringify(configuration)} -> ${prop}`, () => {
        const { config, errors } = load(configuration);
        expect(errors).to.deep.equal([]);
        expect(config[prop]).to.deep.equal(expected);
      });
    }
  });

  describe('coalesces empty values to defaults where upstream does', () => {
    const cases: Array<[Record<string, unknown>, Prop, unknown]> = [
      [{ docker_image: '' }, 'dockerImage', DEFAULT_OPERATOR_CONFIG.dockerImage],
      [{ workers: 0 }, 'workers', 8],
      [{ resync_period: '0s' }, 'resyncPeriod', 1800],
      [{ crd_categories: [] }, 'crdCategories', ['all']],
      [{ kubernetes: { cluster_labels: {} } }, 'clusterLabels', { application: 'spilo' }],
      [{ teams_api: { protected_role_names: [] } }, 'protectedRoleNames', ['admin', 'cron_admin']],
      [{ connection_pooler: { connection_pooler_user: '' } }, 'connectionPoolerUser', 'pooler'],
      // not coalesced upstream: the empty value stays
      [{ teams_api: { team_admin_role: '' } }, 'teamAdminRole', ''],
      [{ kubernetes: { inherited_labels: [] } }, 'inheritedLabels', []],
      [{ min_instances: 0 }, 'minInstances', 0],
    ];
    for (const [configuration, prop, expected] of cases) {
      it(`${JSON.stringify(configuration)} -> ${JSON.stringify(expected)}`, () => {
        const { config, errors } = load(configuration);
        expect(errors).to.deep.equal([]);
        expect(config[prop]).to.deep.equal(expected);
      });
    }
  });

  it('skips null values, which stand for absent', () => {
    const { config, errors } = load({ docker_image: null, kubernetes: { spilo_runasuser: null }, users: null });
    expect(errors).to.deep.equal([]);
    expect(config).to.deep.equal(DEFAULT_OPERATOR_CONFIG);
  });

  describe('reports bad values by their path and keeps the default', () => {
    const cases: Array<[Record<string, unknown>, string, string, Prop]> = [
      [{ workers: '8' }, 'configuration.workers', 'is not an integer', 'workers'],
      [{ workers: 1.5 }, 'configuration.workers', 'is not an integer', 'workers'],
      [{ workers: -3 }, 'configuration.workers', 'is not a non-negative integer', 'workers'],
      [{ max_instances: -5 }, 'configuration.max_instances', 'is below the minimum of -1', 'maxInstances'],
      [{ enable_shm_volume: 'true' }, 'configuration.enable_shm_volume', 'is not a boolean', 'enableShmVolume'],
      [{ resync_period: 1800 }, 'configuration.resync_period', 'is not a duration string', 'resyncPeriod'],
      [
        { timeouts: { ready_wait_timeout: '30 seconds' } },
        'configuration.timeouts.ready_wait_timeout',
        'is not a duration',
        'readyWaitTimeout',
      ],
      [
        { kubernetes: { cluster_labels: { application: 1 } } },
        'configuration.kubernetes.cluster_labels',
        'is not a map of strings',
        'clusterLabels',
      ],
      [{ kubernetes: { inherited_labels: 'team' } }, 'configuration.kubernetes.inherited_labels', 'is not a list', 'inheritedLabels'],
      [
        { kubernetes: { inherited_labels: ['team', 1] } },
        'configuration.kubernetes.inherited_labels',
        'is not a list of strings',
        'inheritedLabels',
      ],
      [
        { kubernetes: { storage_resize_mode: 'grow' } },
        'configuration.kubernetes.storage_resize_mode',
        'is not one of ebs, mixed, pvc, off',
        'storageResizeMode',
      ],
      [
        { kubernetes: { oauth_token_secret_name: 'ns/' } },
        'configuration.kubernetes.oauth_token_secret_name',
        'is not a namespaced name',
        'oauthTokenSecretName',
      ],
      [
        { kubernetes: { infrastructure_roles_secrets: [{ userkey: 'u' }] } },
        'configuration.kubernetes.infrastructure_roles_secrets',
        'item 0 has no secretname',
        'infrastructureRolesSecrets',
      ],
      [{ kubernetes: { liveness_probe: [] } }, 'configuration.kubernetes.liveness_probe', 'is not an object', 'livenessProbe'],
      [{ sidecars: [1] }, 'configuration.sidecars', 'is not a list of objects', 'sidecars'],
      [
        { connection_pooler: { connection_pooler_mode: 'statement' } },
        'configuration.connection_pooler.connection_pooler_mode',
        'is not one of session, transaction',
        'connectionPoolerMode',
      ],
    ];
    for (const [configuration, path, reason, prop] of cases) {
      it(`${JSON.stringify(configuration)}`, () => {
        const { config, errors } = load(configuration);
        expect(errors).to.have.length(1);
        expect(errors[0]?.key).to.equal(path);
        expect(errors[0]?.message).to.include(path).and.include(reason);
        expect(config[prop]).to.deep.equal(DEFAULT_OPERATOR_CONFIG[prop]);
      });
    }
  });

  it('reports unknown keys and groups, and keys in the wrong group, by path', () => {
    const { config, errors } = load({ wokers: 4, kubernetes: { workers: 4, pod_role_label: 'role' }, nonsense: {}, users: 'root' });
    expect(errors.map((e) => e.key)).to.deep.equal([
      'configuration.wokers',
      'configuration.kubernetes.workers',
      'configuration.nonsense',
      'configuration.users',
    ]);
    expect(errors[0]?.message).to.include('unknown operator configuration key');
    expect(errors[3]?.message).to.include('is not an object');
    expect(config.podRoleLabel).to.equal('role');
    expect(config.workers).to.equal(8);
  });

  it('rejects the ConfigMap-only enable_load_balancer', () => {
    const { errors } = load({ load_balancer: { enable_load_balancer: true } });
    expect(errors.map((e) => e.key)).to.deep.equal(['configuration.load_balancer.enable_load_balancer']);
  });

  it('names cross-key problems by their CR path', () => {
    const { errors } = load({ min_instances: 4, max_instances: 2, users: { super_username: 'pooler' } });
    expect(errors.map((e) => e.key)).to.deep.equal([
      'configuration.min_instances',
      'configuration.connection_pooler.connection_pooler_user',
    ]);
  });

  it('never echoes secret values', () => {
    const { errors } = load({ logical_backup: { logical_backup_s3_secret_access_key: { leaked: 'hunter2' } } });
    expect(errors).to.have.length(1);
    expect(JSON.stringify(errors)).to.not.include('hunter2');
  });

  it('fills the operator namespace into names given without one', () => {
    const { config } = fromOperatorConfiguration(
      { configuration: { kubernetes: { infrastructure_roles_secrets: [{ secretname: 'roles', userkey: 'u', passwordkey: 'p' }] } } },
      { operatorNamespace: 'pgo' },
    );
    expect(config.infrastructureRolesSecrets[0]?.secretName).to.deep.equal({ namespace: 'pgo', name: 'roles' });
    expect(config.oauthTokenSecretName).to.deep.equal({ namespace: 'pgo', name: 'postgresql-operator' });
  });
});

describe('toOperatorConfiguration', () => {
  it('writes the defaults as a CR that loads back to the same config', () => {
    const cr = toOperatorConfiguration(DEFAULT_OPERATOR_CONFIG);
    expect(cr.apiVersion).to.equal('acid.zalan.do/v1');
    expect(cr.kind).to.equal('OperatorConfiguration');
    expect(cr.configuration.timeouts?.resource_check_timeout).to.equal('10m');
    expect(cr.configuration.kubernetes?.oauth_token_secret_name).to.equal('postgresql-operator');
    const { config, errors } = fromOperatorConfiguration(JSON.parse(JSON.stringify(cr)) as typeof cr);
    expect(errors).to.deep.equal([]);
    expect(config).to.deep.equal(DEFAULT_OPERATOR_CONFIG);
  });

  it('round-trips a config loaded from a ConfigMap with many non-default values', () => {
    const { config: original, errors } = fromConfigMap({
      workers: '3',
      resync_period: '1h2m3.5s',
      cluster_labels: 'application:db,env:prod',
      protected_role_names: 'admin',
      spilo_runasuser: '101',
      pod_environment_configmap: 'ops/pod-env',
      infrastructure_roles_secrets: 'secretname:roles,userkey:user,passwordkey:password,defaultrolevalue:admin',
      enable_teams_api: 'false',
      logical_backup_provider: 'gcs',
      min_instances: '2',
      max_instances: '5',
      sidecars: '[{"name":"exporter","image":"exporter:1"}]',
    });
    expect(errors).to.deep.equal([]);
    const { config, errors: crErrors } = fromOperatorConfiguration(JSON.parse(JSON.stringify(toOperatorConfiguration(original))) as never);
    expect(crErrors).to.deep.equal([]);
    expect(config).to.deep.equal(original);
  });

  it('round-trips random durations, counts and flags', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 86400 * 7 }),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        fc.array(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), { minLength: 1, maxLength: 4 }),
        (seconds, workers, flag, roles) => {
          const original: OperatorConfig = {
            ...structuredClone(DEFAULT_OPERATOR_CONFIG),
            resyncPeriod: seconds,
            workers,
            enableSidecars: flag,
            protectedRoleNames: roles,
          };
          const { config, errors } = fromOperatorConfiguration(toOperatorConfiguration(original));
          expect(errors).to.deep.equal([]);
          expect(config).to.deep.equal(original);
        },
      ),
    );
  });
});
