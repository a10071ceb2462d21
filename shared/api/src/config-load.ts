// What both loaders share: the result and error types, a fresh copy of the defaults,
// recording one key's value or error, and the checks that span several keys.
import { DEFAULT_OPERATOR_CONFIG, type NamespacedName, type OperatorConfig } from './config.js';
import type { ConfigKey } from './config-keys.js';
import { checkValue, type ConfigValue } from './config-values.js';

/** One problem with the configuration; the key keeps its default (or parsed) value. */
export interface ConfigError {
  /** ConfigMap key, or the CR path such as "configuration.kubernetes.pod_terminate_grace_period". */
  key: string;
  /** The offending value as text; absent for secrets and cross-key problems. */
  value?: string;
  /** A full sentence naming the key. */
  message: string;
}

export interface ConfigLoadResult {
  config: OperatorConfig;
  errors: ConfigError[];
}

export interface ConfigLoadOptions {
  /**
   * Namespace for names given without one (oauth_token_secret_name, pod_environment_configmap, …).
   * Default '': leave the namespace empty, meaning "the operator's namespace".
   */
  operatorNamespace?: string;
}

/** A deep, mutable copy of DEFAULT_OPERATOR_CONFIG. */
export function defaultConfig(): OperatorConfig {
  return structuredClone(DEFAULT_OPERATOR_CONFIG);
}

/** The configuration being loaded and the problems found so far. */
export interface Loading {
  readonly config: OperatorConfig;
  readonly errors: ConfigError[];
}

/** Checks and stores one value; on failure records an error and leaves the default. */
export function applyValue(into: Loading, entry: ConfigKey, found: { value: ConfigValue; path: string; raw: unknown }): void {
  try {
    checkValue(entry.kind, found.value);
  } catch (err) {
    into.errors.push(valueError(entry, found.path, found.raw, err));
    return;
  }
  (into.config as unknown as Record<string, ConfigValue>)[entry.prop] = found.value;
}

export function valueError(entry: ConfigKey, path: string, raw: unknown, err: unknown): ConfigError {
  const reason = err instanceof Error ? err.message : String(err);
  if (entry.secret) return { key: path, message: `${path}: the value ${reason}.` };
  const value = typeof raw === 'string' ? raw : JSON.stringify(raw);
  return { key: path, value, message: `${path}: ${JSON.stringify(value)} ${reason}.` };
}

/** Fills empty namespaces and runs upstream's cross-key checks (pkg/util/config/config.go validate). */
export function finishConfig(config: OperatorConfig, options: ConfigLoadOptions, pathOf: (key: string) => string): ConfigError[] {
  fillNamespaces(config, options.operatorNamespace ?? '');
  const errors: ConfigError[] = [];
  if (config.minInstances > 0 && config.maxInstances > 0 && config.minInstances > config.maxInstances) {
    const key = pathOf('min_instances');
    errors.push({
      key,
      message: `${key}: the minimum number of instances (${config.minInstances}) is higher than max_instances (${config.maxInstances}).`,
    });
  }
  if (config.connectionPoolerUser === config.superUsername) {
    const key = pathOf('connection_pooler_user');
    errors.push({
      key,
      value: config.connectionPoolerUser,
      message: `${key}: the connection pooler user must differ from the superuser ${JSON.stringify(config.superUsername)}.`,
    });
  }
  return errors;
}

function fillNamespaces(config: OperatorConfig, namespace: string): void {
  if (!namespace) return;
  const fill = (n: NamespacedName | undefined): void => {
    if (n && n.name && !n.namespace) n.namespace = namespace;
  };
  fill(config.oauthTokenSecretName);
  fill(config.infrastructureRolesSecretName);
  fill(config.podEnvironmentConfigmap);
  for (const role of config.infrastructureRolesSecrets) fill(role.secretName);
}
