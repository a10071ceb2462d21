// The WAL-archive environment Spilo writes into its envdir (write_wale_environment in
// configure_spilo.py, Spilo HEAD), for S3 and S3-compatible storage and for Google Cloud Storage.
// Swift, Azure and SSH archives are not derived by the local agent; the caller reports that.

const S3_NAMES = [
  'WALE_S3_PREFIX',
  'WALG_S3_PREFIX',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'WALE_S3_ENDPOINT',
  'AWS_ENDPOINT',
  'AWS_REGION',
  'AWS_INSTANCE_PROFILE',
  'WALE_DISABLE_S3_SSE',
  'WALG_S3_SSE_KMS_ID',
  'WALG_S3_SSE',
  'WALG_DISABLE_S3_SSE',
  'AWS_S3_FORCE_PATH_STYLE',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_STS_REGIONAL_ENDPOINTS',
];
const GS_NAMES = ['WALE_GS_PREFIX', 'WALG_GS_PREFIX', 'GOOGLE_APPLICATION_CREDENTIALS'];
const WALG_NAMES = [
  'WALG_DELTA_MAX_STEPS',
  'WALG_DELTA_ORIGIN',
  'WALG_DOWNLOAD_CONCURRENCY',
  'WALG_UPLOAD_CONCURRENCY',
  'WALG_UPLOAD_DISK_CONCURRENCY',
  'WALG_DISK_RATE_LIMIT',
  'WALG_NETWORK_RATE_LIMIT',
  'WALG_COMPRESSION_METHOD',
  'USE_WALG_BACKUP',
  'USE_WALG_RESTORE',
  'WALG_BACKUP_COMPRESSION_METHOD',
  'WALG_BACKUP_FROM_REPLICA',
  'WALG_SENTINEL_USER_DATA',
  'WALG_PREVENT_WAL_OVERWRITE',
  'WALG_S3_CA_CERT_FILE',
  'WALG_LIBSODIUM_KEY',
  'WALG_LIBSODIUM_KEY_PATH',
  'WALG_LIBSODIUM_KEY_TRANSFORM',
  'WALG_PGP_KEY',
  'WALG_PGP_KEY_PATH',
  'WALG_PGP_KEY_PASSPHRASE',
  'no_proxy',
  'http_proxy',
  'https_proxy',
];
const IMDS_NAMES = ['AWS_EC2_METADATA_SERVICE_ENDPOINT', 'AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE'];
const COMMON = [
  'PGVERSION',
  'PGPORT',
  'SCOPE',
  'WAL_BUCKET_SCOPE_PREFIX',
  'WAL_BUCKET_SCOPE_SUFFIX',
  'WAL_S3_BUCKET',
  'WAL_GCS_BUCKET',
  'WAL_GS_BUCKET',
  'BACKUP_NUM_TO_RETAIN',
  'ENABLE_WAL_PATH_COMPAT',
  'WALE_GCS_PREFIX',
];

export interface WalEnvResult {
  /** File name → content of the envdir; undefined when no supported archive location is configured. */
  readonly files: Record<string, string> | undefined;
  readonly warnings: string[];
}

/**
 * The envdir for the archive named by `prefix`-ed variables ('' for the cluster's own archive,
 * 'CLONE_' / 'STANDBY_' for a source cluster). `values` are Spilo's placeholders (env + defaults).
 */
export function walEnvironment(values: Readonly<Record<string, string | undefined>>, prefix: string, tmpDir: string): WalEnvResult {
  const w: Record<string, string> = {};
  for (const name of [...COMMON, ...S3_NAMES, ...GS_NAMES, ...WALG_NAMES]) w[name] = values[prefix + name] ?? '';
  const warnings: string[] = [];
  let names: string[];
  if (w['WAL_S3_BUCKET'] || w['WALE_S3_PREFIX'] || w['WALG_S3_PREFIX']) {
    s3Settings(w, values, warnings);
    for (const name of IMDS_NAMES) if (values[name]) w[name] = values[name];
    names = [...S3_NAMES, ...WALG_NAMES, ...IMDS_NAMES];
  } else if (w['WAL_GCS_BUCKET'] || w['WAL_GS_BUCKET'] || w['WALE_GCS_PREFIX'] || w['WALE_GS_PREFIX'] || w['WALG_GS_PREFIX']) {
    if (w['WALE_GCS_PREFIX']) w['WALE_GS_PREFIX'] = w['WALE_GCS_PREFIX'];
    else if (w['WAL_GCS_BUCKET']) w['WAL_GS_BUCKET'] = w['WAL_GCS_BUCKET'];
    names = [...GS_NAMES, ...WALG_NAMES];
  } else {
    for (const other of ['WAL_SWIFT_BUCKET', 'WALE_SWIFT_PREFIX', 'WALG_AZ_PREFIX', 'WALG_SSH_PREFIX']) {
      if (values[prefix + other])
        warnings.push(`${prefix}${other} is set, but the local node agent only derives S3 and GCS archive settings`);
    }
    return { files: undefined, warnings };
  }
  const prefixName = names[0] as string;
  const store = prefixName.slice(5).split('_')[0] as string;
  if (!w[prefixName]) {
    const path = `/spilo/${w['WAL_BUCKET_SCOPE_PREFIX']}${w['SCOPE']}${w['WAL_BUCKET_SCOPE_SUFFIX']}/wal/${w['PGVERSION']}`;
    w[prefixName] = `${store.toLowerCase()}://${w[`WAL_${store}_BUCKET`] ?? ''}${path}`;
  }
  const walgPrefix = names[1] as string;
  if (!w[walgPrefix]) w[walgPrefix] = w[prefixName];
  w['WALE_LOG_DESTINATION'] = 'stderr';
  const files: Record<string, string> = {};
  for (const name of [...names, 'WALE_LOG_DESTINATION', 'PGPORT', ...(prefix === '' ? ['BACKUP_NUM_TO_RETAIN'] : [])]) {
    if (w[name]) files[name] = w[name];
  }
  files['TMPDIR'] = tmpDir;
  return { files, warnings };
}

function s3Settings(w: Record<string, string>, values: Readonly<Record<string, string | undefined>>, warnings: string[]): void {
  let wale = w['WALE_S3_ENDPOINT'] ?? '';
  let aws = w['AWS_ENDPOINT'] ?? '';
  const region = w['AWS_REGION'] ?? '';
  delete w['WALE_S3_ENDPOINT'];
  delete w['AWS_ENDPOINT'];
  delete w['AWS_REGION'];
  if (aws || wale) {
    let convention = 'path';
    if (!wale) {
      wale = aws.replace('://', '+path://');
    } else {
      const match = /^(\w+)\+(\w+)(:\/\/.+)$/.exec(wale);
      if (match !== null) convention = match[2] as string;
      else warnings.push(`WALE_S3_ENDPOINT "${wale}" is not of the form protocol+convention://host:port`);
      if (!aws) aws = match !== null ? `${match[1]}${match[3]}` : wale;
    }
    Object.assign(w, { WALE_S3_ENDPOINT: wale, AWS_ENDPOINT: aws });
    for (const name of ['WALE_DISABLE_S3_SSE', 'WALG_DISABLE_S3_SSE']) if (!w[name]) w[name] = 'true';
    w['AWS_S3_FORCE_PATH_STYLE'] = convention === 'path' ? 'true' : 'false';
    if (region && w['USE_WALG_BACKUP'] === 'true') w['AWS_REGION'] = region;
  } else if (region) {
    w['AWS_REGION'] = region;
  } else {
    const match = /.*(\w{2}-\w+-\d)-.*/.exec(w['WAL_S3_BUCKET'] || w['WALE_S3_PREFIX'] || '');
    // Spilo falls back to the instance zone minus its last letter; a local instance has zone "local".
    w['AWS_REGION'] = match !== null ? (match[1] as string) : (values['AWS_ZONE'] ?? 'local').slice(0, -1);
  }
  if (!(w['AWS_SECRET_ACCESS_KEY'] && w['AWS_ACCESS_KEY_ID'])) w['AWS_INSTANCE_PROFILE'] = 'true';
  if (w['WALE_DISABLE_S3_SSE'] && !w['WALG_DISABLE_S3_SSE']) w['WALG_DISABLE_S3_SSE'] = w['WALE_DISABLE_S3_SSE'];
  if (w['USE_WALG_BACKUP'] && w['WALG_DISABLE_S3_SSE'] !== 'true' && !w['WALG_S3_SSE']) w['WALG_S3_SSE'] = 'AES256';
}
