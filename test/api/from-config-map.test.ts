import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, fromConfigMap, type OperatorConfig } from '@pgfn/api';

type Prop = keyof OperatorConfig;

describe('fromConfigMap', () => {
  it('returns the defaults and no errors for an empty ConfigMap', () => {
    const { config, errors } = fromConfigMap({});
    expect(errors).to.deep.equal([]);
    expect(config).to.deep.equal(DEFAULT_OPERATOR_CONFIG);
  });

  it('returns a config the caller may change without touching the defaults', () => {
    const { config } = fromConfigMap({});
    config.crdCategories.push('extra');
    config.clusterLabels['x'] = 'y';
    expect(DEFAULT_OPERATOR_CONFIG.crdCategories).to.deep.equal(['all']);
    expect(DEFAULT_OPERATOR_CONFIG.clusterLabels).to.deep.equal({ application: 'spilo' });
  });

  describe('parses each value type like upstream', () => {
    const cases: Array<[string, string, Prop, unknown]> = [
      // strings, taken verbatim
      ['docker_image', 'registry.local/spilo:1', 'dockerImage', 'registry.local/spilo:1'],
      ['secret_name_template', '{username}.{cluster}.x', 'secretNameTemplate', '{username}.{cluster}.x'],
      ['pam_configuration', ' spaced value ', 'pamConfiguration', ' spaced value '],
      // booleans (strconv.ParseBool)
      ['enable_teams_api', 'false', 'enableTeamsApi', false],
      ['enable_pod_antiaffinity', 'T', 'enablePodAntiaffinity', true],
      ['enable_shm_volume', '0', 'enableShmVolume', false],
      ['enable_load_balancer', 'true', 'enableLoadBalancer', true],
      // integers of each width
      ['workers', '4', 'workers', 4],
      ['workers', '0x10', 'workers', 16],
      ['min_instances', '-1', 'minInstances', -1],
      ['max_instances', '5', 'maxInstances', 5],
      ['api_port', '9090', 'apiPort', 9090],
      ['spilo_runasuser', '101', 'spiloRunasuser', 101],
      ['spilo_fsgroup', '103', 'spiloFsgroup', 103],
      ['password_rotation_interval', '30', 'passwordRotationInterval', 30],
      ['connection_pooler_number_of_instances', '3', 'connectionPoolerNumberOfInstances', 3],
      ['connection_pooler_max_db_connections', '100', 'connectionPoolerMaxDbConnections', 100],
      ['logical_backup_ttl_seconds_after_finished', '3600', 'logicalBackupTtlSecondsAfterFinished', 3600],
      // durations, in seconds
      ['resync_period', '10m', 'resyncPeriod', 600],
      ['repair_period', '1h30m', 'repairPeriod', 5400],
      ['ready_wait_interval', '500ms', 'readyWaitInterval', 0.5],
      ['pod_terminate_grace_period', '30s', 'podTerminateGracePeriod', 30],
      ['master_pod_move_timeout', '2h', 'masterPodMoveTimeout', 7200],
      ['patroni_api_check_timeout', '1.5s', 'patroniApiCheckTimeout', 1.5],
      // comma lists, nothing trimmed
      ['protected_role_names', 'admin,cron_admin,robot', 'protectedRoleNames', ['admin', 'cron_admin', 'robot']],
      ['inherited_labels', 'a, b', 'inheritedLabels', ['a', ' b']],
      ['crd_categories', 'all,pg', 'crdCategories', ['all', 'pg']],
      ['maintenance_windows', 'Mon:01:00-06:00,02:00-03:00', 'maintenanceWindows', ['Mon:01:00-06:00', '02:00-03:00']],
      // key:value maps
      ['cluster_labels', 'application:spilo,env:test', 'clusterLabels', { application: 'spilo', env: 'test' }],
      [
        'team_api_role_configuration',
        "log_statement:all, work_mem:'4GB'",
        'teamApiRoleConfiguration',
        { log_statement: 'all', work_mem: "'4GB'" },
      ],
      [
        'toleration',
        'key:postgres,operator:Exists,effect:NoSchedule',
        'toleration',
        { key: 'postgres', operator: 'Exists', effect: 'NoSchedule' },
      ],
      [
        'persistent_volume_claim_retention_policy',
        'when_deleted:delete,when_scaled:retain',
        'persistentVolumeClaimRetentionPolicy',
        { when_deleted: 'delete', when_scaled: 'retain' },
      ],
      // namespaced names
      ['pod_environment_configmap', 'team-a/pod-env', 'podEnvironmentConfigmap', { namespace: 'team-a', name: 'pod-env' }],
      ['oauth_token_secret_name', 'oauth-token', 'oauthTokenSecretName', { namespace: '', name: 'oauth-token' }],
      ['infrastructure_roles_secret_name', 'ops/infra', 'infrastructureRolesSecretName', { namespace: 'ops', name: 'infra' }],
      // one infrastructure role description; a bare secret name lives in "default", as upstream decides
      [
        'infrastructure_roles_secrets',
        'secretname:monitoring-roles,userkey:user,passwordkey:password,rolekey:inrole',
        'infrastructureRolesSecrets',
        [
          {
            secretName: { namespace: 'default', name: 'monitoring-roles' },
            userKey: 'user',
            passwordKey: 'password',
            roleKey: 'inrole',
            defaultUserValue: '',
            defaultRoleValue: '',
            details: '',
            template: false,
          },
        ],
      ],
      // sidecars as a JSON array (pgfn extension: upstream's decoder cannot read them)
      ['sidecars', '[{"name":"exporter","image":"exporter:1"}]', 'sidecars', [{ name: 'exporter', image: 'exporter:1' }]],
    ];
    for (const [key, raw, prop, expected] of cases) {
      it(`${key}: ${JSON.stringify(raw)}`, () => {
        const { config, errors } = fromConfigMap({ [key]: raw });
        expect(errors).to.deep.equal([]);
        expect(config[prop]).to.deep.equal(expected);
      });
    }
  });

  describe('treats a present but empty value like upstream', () => {
    // Upstream skips empty strings: plain fields keep the Go zero value, pointer fields stay unset.
    const cases: Array<[string, Prop, unknown]> = [
      ['docker_image', 'dockerImage', ''],
      ['enable_teams_api', 'enableTeamsApi', false],
      ['enable_master_load_balancer', 'enableMasterLoadBalancer', false],
      ['protected_role_names', 'protectedRoleNames', []],
      ['cluster_labels', 'clusterLabels', {}],
      ['api_port', 'apiPort', 0],
      ['enable_shm_volume', 'enableShmVolume', true],
      ['resync_period', 'resyncPeriod', 1800],
      ['connection_pooler_number_of_instances', 'connectionPoolerNumberOfInstances', 2],
      ['spilo_runasuser', 'spiloRunasuser', undefined],
      ['pod_environment_configmap', 'podEnvironmentConfigmap', undefined],
    ];
    for (const [key, prop, expected] of cases) {
      it(`${key}: "" -> ${JSON.stringify(expected)}`, () => {
        const { config, errors } = fromConfigMap({ [key]: '' });
        expect(errors).to.deep.equal([]);
        expect(config[prop]).to.deep.equal(expected);
      });
    }
  });

  describe('reports bad values with key and value, and keeps the default', () => {
    const cases: Array<[string, string, Prop, string]> = [
      ['enable_teams_api', 'yes', 'enableTeamsApi', 'is not a boolean'],
      ['workers', 'eight', 'workers', 'is not a non-negative integer'],
      ['workers', '-1', 'workers', 'is not a non-negative integer'],
      ['workers', '0', 'workers', 'is below the minimum of 1'],
      ['min_instances', '-2', 'minInstances', 'is below the minimum of -1'],
      ['max_instances', '99999999999', 'maxInstances', 'is out of range'],
      ['api_port', '80.5', 'apiPort', 'is not an integer'],
      ['connection_pooler_number_of_instances', '0', 'connectionPoolerNumberOfInstances', 'is below the minimum of 1'],
      ['resync_period', '10', 'resyncPeriod', 'is not a duration'],
      ['pod_label_wait_timeout', '5 minutes', 'podLabelWaitTimeout', 'is not a duration'],
      ['cluster_labels', 'application=spilo', 'clusterLabels', 'invalid map item'],
      ['team_api_role_configuration', "search_path:'x", 'teamApiRoleConfiguration', 'unmatched quote starting at position 13'],
      ['oauth_token_secret_name', 'ns/', 'oauthTokenSecretName', 'is not a namespaced name'],
      ['storage_resize_mode', 'grow', 'storageResizeMode', 'is not one of ebs, mixed, pvc, off'],
      ['major_version_upgrade_mode', 'auto', 'majorVersionUpgradeMode', 'is not one of off, manual, full'],
      ['connection_pooler_mode', 'statement', 'connectionPoolerMode', 'is not one of session, transaction'],
      ['pod_management_policy', 'Parallel', 'podManagementPolicy', 'is not one of ordered_ready, parallel'],
      ['infrastructure_roles_secrets', 'secretname:roles,userkey:user', 'infrastructureRolesSecrets', 'must name secretname, passwordkey'],
      [
        'infrastructure_roles_secrets',
        'secretname:roles,userkey:u,passwordkey:p,colour:red',
        'infrastructureRolesSecrets',
        'unknown property "colour"',
      ],
      ['sidecars', 'exporter', 'sidecars', 'is not a JSON array of containers'],
      ['sidecars', '{"name":"x"}', 'sidecars', 'is not a list'],
    ];
    for (const [key, raw, prop, reason] of cases) {
      it(`${key}: ${JSON.stringify(raw)}`, () => {
        const { config, errors } = fromConfigMap({ [key]: raw });
        expect(errors).to.have.length(1);
        const [error] = errors;
        expect(error?.key).to.equal(key);
        expect(error?.value).to.equal(raw);
        expect(error?.message).to.include(key).and.include(JSON.stringify(raw)).and.include(reason);
        expect(config[prop]).to.deep.equal(DEFAULT_OPERATOR_CONFIG[prop]);
      });
    }
  });

  it('applies the good keys beside the bad ones', () => {
    const { config, errors } = fromConfigMap({ workers: 'many', docker_image: 'spilo:x', resync_period: '1m', enable_sidecars: 'nope' });
    expect(errors.map((e) => e.key)).to.deep.equal(['workers', 'enable_sidecars']);
    expect(config.dockerImage).to.equal('spilo:x');
    expect(config.resyncPeriod).to.equal(60);
    expect(config.workers).to.equal(8);
    expect(config.enableSidecars).to.equal(true);
  });

  it('reports unknown keys without echoing their values', () => {
    const { config, errors } = fromConfigMap({ logical_backup_s3_secret_key: 'hunter2', workers: '2' });
    expect(errors).to.deep.equal([
      { key: 'logical_backup_s3_secret_key', message: 'logical_backup_s3_secret_key: unknown operator configuration key; it was ignored.' },
    ]);
    expect(JSON.stringify(errors)).not.to.include('hunter2');
    expect(config.workers).to.equal(2);
  });

  it('rejects keys only the OperatorConfiguration knows and says where they belong', () => {
    const { errors } = fromConfigMap({ liveness_probe: '{}' });
    expect(errors).to.have.length(1);
    expect(errors[0]?.message).to.include('liveness_probe').and.include('configuration.kubernetes.liveness_probe');
  });

  it("reports upstream's cross-key checks by key name", () => {
    const { errors } = fromConfigMap({ min_instances: '5', max_instances: '3', connection_pooler_user: 'postgres' });
    expect(errors.map((e) => e.key)).to.deep.equal(['min_instances', 'connection_pooler_user']);
    expect(errors[0]?.message).to.include('(5)').and.include('max_instances (3)');
    expect(errors[1]?.message).to.include('superuser "postgres"');
  });

  it('accepts min_instances above max_instances when either limit is disabled', () => {
    expect(fromConfigMap({ min_instances: '5', max_instances: '-1' }).errors).to.deep.equal([]);
  });

  it('fills the operator namespace into names given without one', () => {
    const { config } = fromConfigMap(
      { pod_environment_configmap: 'pod-env', infrastructure_roles_secret_name: 'ops/infra' },
      { operatorNamespace: 'pgo' },
    );
    expect(config.oauthTokenSecretName).to.deep.equal({ namespace: 'pgo', name: 'postgresql-operator' });
    expect(config.podEnvironmentConfigmap).to.deep.equal({ namespace: 'pgo', name: 'pod-env' });
    expect(config.infrastructureRolesSecretName).to.deep.equal({ namespace: 'ops', name: 'infra' });
  });

  it('never echoes the values of secret keys', () => {
    const { errors } = fromConfigMap({ scalyr_api_key: 42 as unknown as string });
    expect(errors).to.have.length(1);
    expect(errors[0]).to.not.have.property('value');
    expect(errors[0]?.message).to.include('scalyr_api_key').and.not.include('42');
  });
});
