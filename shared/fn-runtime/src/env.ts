// What a function reads from its environment, in one place (Knative sets PORT and, through a
// SinkBinding, K_SINK; the Knative Service manifests set the rest).
import type { SslMode } from '@pgfn/roles';
import { configSourceFromEnv, type ConfigSource } from './operator-config.js';

export interface FunctionEnv {
  /** PORT (Knative: 8080), default 8081. */
  readonly port: number;
  /** HOST, default every interface. */
  readonly host: string;
  /** WATCHED_NAMESPACE; unset, empty or `*` means every namespace. */
  readonly watchedNamespace: string | undefined;
  /** PGSSLMODE for connections to Postgres; `require` by default, as upstream connects. */
  readonly sslmode: SslMode;
  /** K_SINK: where our CloudEvents go; unset means they are dropped. */
  readonly sink: string | undefined;
  /** OPERATOR_NAMESPACE, POSTGRES_OPERATOR_CONFIGURATION_OBJECT, CONFIG_MAP_NAME. */
  readonly configSource: ConfigSource;
  /** LOG_LEVEL, default info. */
  readonly logLevel: string;
}

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export function functionEnv(env: NodeJS.ProcessEnv = process.env): FunctionEnv {
  const watched = env['WATCHED_NAMESPACE'];
  const sslmode = env['PGSSLMODE'];
  if (sslmode !== undefined && sslmode !== '' && !SSL_MODES.includes(sslmode as SslMode))
    throw new Error(`PGSSLMODE=${sslmode} is not one of ${SSL_MODES.join(', ')}`);
  return {
    port: Number(env['PORT'] || 8081),
    host: env['HOST'] || '0.0.0.0',
    watchedNamespace: watched === undefined || watched === '' || watched === '*' ? undefined : watched,
    sslmode: (sslmode || 'require') as SslMode,
    sink: env['K_SINK'] || undefined,
    configSource: configSourceFromEnv(env),
    logLevel: env['LOG_LEVEL'] || 'info',
  };
}

/** A positive number from the environment, or undefined when unset or not one. */
export function positiveNumber(env: NodeJS.ProcessEnv, key: string): number | undefined {
  const n = Number(env[key] ?? '');
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Whether a function watching `watchedNamespace` (undefined: every namespace) looks after objects in
 * `namespace`. Upstream's watched_namespace scopes everything its operator does; here the events come
 * from a source that may cover more (a cluster-wide ApiServerSource), so each function checks.
 */
export function watches(watchedNamespace: string | undefined, namespace: string): boolean {
  return watchedNamespace === undefined || watchedNamespace === namespace;
}
