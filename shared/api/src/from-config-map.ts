// Loads the operator configuration from the data of a ConfigMap (upstream's flat form,
// config.NewFromMap): snake_case keys, every value a string. Unlike upstream, which panics on
// the first bad value and ignores unknown keys, this reports every problem and keeps going.
import type { OperatorConfig } from './config.js';
import { CONFIG_KEYS_BY_KEY, type ConfigKey } from './config-keys.js';
import {
  applyValue,
  defaultConfig,
  finishConfig,
  valueError,
  type ConfigError,
  type ConfigLoadOptions,
  type ConfigLoadResult,
} from './config-load.js';
import { emptyConfigMapValue, parseConfigMapValue } from './config-values.js';

export function fromConfigMap(data: Readonly<Record<string, string>>, options: ConfigLoadOptions = {}): ConfigLoadResult {
  const config = defaultConfig();
  const errors: ConfigError[] = [];
  for (const [key, raw] of Object.entries(data)) {
    const entry = CONFIG_KEYS_BY_KEY.get(key);
    if (!entry || entry.crdOnly) {
      errors.push(unknownKey(key, entry));
      continue;
    }
    applyConfigMapValue(config, entry, raw, errors);
  }
  errors.push(...finishConfig(config, options, (key) => key));
  return { config, errors };
}

function applyConfigMapValue(config: OperatorConfig, entry: ConfigKey, raw: string, errors: ConfigError[]): void {
  if (typeof raw !== 'string') {
    errors.push(valueError(entry, entry.key, raw, new Error('is not a string (ConfigMap data holds strings only)')));
    return;
  }
  try {
    const value = raw === '' ? emptyConfigMapValue(entry, config[entry.prop]) : parseConfigMapValue(entry.kind, raw);
    applyValue({ config, errors }, entry, { value, path: entry.key, raw });
  } catch (err) {
    errors.push(valueError(entry, entry.key, raw, err));
  }
}

// The value is not echoed: a misspelt key may well hold a secret.
function unknownKey(key: string, entry: ConfigKey | undefined): ConfigError {
  const where = entry ? ` It can only be set in the OperatorConfiguration (configuration.${entry.group}.${key}).` : '';
  return { key, message: `${key}: unknown operator configuration key; it was ignored.${where}` };
}
