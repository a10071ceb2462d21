// `npm run render`: prints the objects pgfn would create for a manifest, as a YAML stream, without a
// cluster. Output is stable: passwords are numbered placeholders ("<generated-password-1>", …, in
// build order, never real secrets) and the clock is fixed by --now (default: today, 00:00 UTC, which
// only rotation dates depend on). Every problem goes to stderr, each on its line: the manifest checked
// against the postgresql CRD as the API server would (unknown fields are warnings: the API server would
// drop them), pgfn's validation, and the contents of configured ConfigMaps/Secrets not given by flag.
// Any error means exit code 1 and no output. The YAML quotes every string a YAML 1.1 reader would take
// for something else (yes, no, on, off, timestamps, octals), so `render … | kubectl apply -f -` is safe.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Document, parseAllDocuments } from 'yaml';
import {
  DEFAULT_OPERATOR_CONFIG,
  fromConfigMap,
  fromOperatorConfiguration,
  type OperatorConfig,
  type OperatorConfiguration,
  type Postgresql,
} from '@pgfn/api';
import { buildCluster } from './build-cluster.js';
import type { BuildInputs, KubeObject } from './inputs.js';
import { checkAgainstSchema, type SchemaNode } from './schema-check.js';
import type { ValidationError } from './validation.js';

/** The CRD whose schema `render` checks manifests against. */
export const POSTGRESQL_CRD_FILE = resolve(import.meta.dirname, '../../../crds/postgresql.crd.yaml');

export const PLACEHOLDER_NOTE = 'password values are placeholders (<generated-password-N>), not real secrets';

export interface RenderIo {
  readonly readFile: (path: string) => string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The clock used when --now is not given. */
  readonly today: () => Date;
}

/** A password source for renders and tests: "<generated-password-1>", "<generated-password-2>", … */
export function placeholderPasswords(): () => string {
  let n = 0;
  return () => `<generated-password-${++n}>`;
}

/** A YAML multi-document stream; Secrets carry a comment that their passwords are placeholders. */
export function renderYaml(objects: readonly KubeObject[], note = PLACEHOLDER_NOTE): string {
  return objects
    .map((o) => {
      // The YAML 1.1 schema quotes strings that 1.1 readers resolve to booleans, timestamps or numbers.
      const doc = new Document(o, { aliasDuplicateObjects: false, schema: 'yaml-1.1' });
      if (o.kind === 'Secret' && doc.contents !== null) doc.contents.commentBefore = ` ${note}`;
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}

/** The operator configuration from a ConfigMap (data) or an OperatorConfiguration (configuration). */
export function loadConfigDocument(doc: unknown): { config: OperatorConfig; errors: string[] } {
  const obj = (doc ?? {}) as { kind?: string; data?: Record<string, string>; configuration?: unknown };
  if (obj.kind === 'ConfigMap') {
    const r = fromConfigMap(obj.data ?? {});
    return { config: r.config, errors: r.errors.map((e) => e.message) };
  }
  if (obj.kind === 'OperatorConfiguration') {
    const r = fromOperatorConfiguration(obj as Pick<OperatorConfiguration, 'configuration'>);
    return { config: r.config, errors: r.errors.map((e) => e.message) };
  }
  return {
    config: structuredClone(DEFAULT_OPERATOR_CONFIG),
    errors: [`the configuration file holds a ${String(obj.kind)}, not a ConfigMap or an OperatorConfiguration`],
  };
}

function parseYaml(text: string, path: string): unknown[] {
  const docs = parseAllDocuments(text);
  const out: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

const USAGE = [
  'usage: npm run render -- -f <manifest.yaml> [--config <configmap.yaml|operatorconfiguration.yaml>] [-n <namespace>]',
  '         [--now <RFC 3339 time>] [--pod-env-configmap <configmap.yaml>] [--pod-env-secret <secret.yaml>]',
  '         [--backup-env-secret <secret.yaml>]',
  '  The last three give the contents of the objects the configuration names in pod_environment_configmap,',
  '  pod_environment_secret and logical_backup_cronjob_environment_secret (a file as `kubectl get -o yaml` writes it).',
].join('\n');

type RenderArgs = Partial<
  Record<'file' | 'config' | 'namespace' | 'now' | 'pod-env-configmap' | 'pod-env-secret' | 'backup-env-secret', string>
>;

/** Runs the render command; returns the process exit code. */
export function runRender(argv: readonly string[], io: RenderIo): number {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        file: { type: 'string', short: 'f' },
        config: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        now: { type: 'string' },
        'pod-env-configmap': { type: 'string' },
        'pod-env-secret': { type: 'string' },
        'backup-env-secret': { type: 'string' },
      },
    }).values;
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.file === undefined) {
    io.stderr(`${USAGE}\n`);
    return 2;
  }
  try {
    return render(args, io);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

function render(args: RenderArgs, io: RenderIo): number {
  const loaded =
    args.config === undefined
      ? { config: structuredClone(DEFAULT_OPERATOR_CONFIG) as OperatorConfig, errors: [] }
      : loadConfigDocument(parseYaml(io.readFile(args.config), args.config)[0]);
  for (const e of loaded.errors) io.stderr(`error: ${args.config}: ${e}\n`);
  const now = args.now === undefined ? startOfDay(io.today()) : new Date(args.now);
  if (Number.isNaN(now.getTime())) throw new Error(`--now "${args.now}" is not a time such as 2026-01-31T00:00:00Z`);
  const sources = readSources(args, loaded.config, io);
  for (const e of sources.missing) io.stderr(`error: ${e}\n`);
  const schema = specSchema(parseYaml(io.readFile(POSTGRESQL_CRD_FILE), POSTGRESQL_CRD_FILE)[0]);
  let failed = loaded.errors.length > 0 || sources.missing.length > 0;
  const rendered: string[] = [];
  const newPassword = placeholderPasswords();
  for (const doc of parseYaml(io.readFile(args.file ?? ''), args.file ?? '')) {
    const cluster = doc as Postgresql;
    if (cluster.kind !== 'postgresql')
      throw new Error(`${args.file}: found a ${String(cluster.kind)}; only postgresql objects can be rendered`);
    if (args.namespace !== undefined) cluster.metadata = { ...cluster.metadata, namespace: args.namespace };
    const schemaProblems = checkAgainstSchema(cluster.spec, schema, 'spec');
    const result = buildCluster({ cluster, config: loaded.config, existingSecrets: new Map(), newPassword, now, ...sources.inputs });
    // pgfn's own sentence wins where both name the same field.
    const problems = [...schemaProblems.filter((s) => !result.errors.some((e) => e.path === s.path)), ...result.errors];
    for (const e of problems) io.stderr(`${e.severity}: ${cluster.metadata?.name ?? '?'}: ${e.path}: ${e.message}\n`);
    if (problems.some((e: ValidationError) => e.severity === 'error')) failed = true;
    else rendered.push(renderYaml(result.objects));
  }
  if (failed) return 1;
  io.stdout(rendered.join('---\n'));
  return 0;
}

/** The schema of `spec` in the postgresql CRD file. */
function specSchema(crd: unknown): SchemaNode {
  const versions = (crd as { spec?: { versions?: { schema?: { openAPIV3Schema?: SchemaNode } }[] } }).spec?.versions ?? [];
  const spec = versions[0]?.schema?.openAPIV3Schema?.properties?.['spec'];
  if (spec === undefined) throw new Error(`${POSTGRESQL_CRD_FILE} holds no schema for spec`);
  return spec;
}

type SourceFlag = 'pod-env-configmap' | 'pod-env-secret' | 'backup-env-secret';

/**
 * The build inputs the configuration asks for, from the files given by flag; each configured object
 * whose contents were not given is named in `missing` with the flag that gives it.
 */
function readSources(
  args: RenderArgs,
  config: OperatorConfig,
  io: RenderIo,
): { inputs: Pick<BuildInputs, 'podEnvironment' | 'logicalBackupEnvironmentSecret'>; missing: string[] } {
  const missing: string[] = [];
  const read = (flag: SourceFlag, setting: string): Record<string, string> | undefined => {
    const file = args[flag];
    if (setting === '') {
      if (file !== undefined) io.stderr(`warning: --${flag} is given, but the configuration names no such object; the file is not used\n`);
      return undefined;
    }
    if (file === undefined) {
      missing.push(`the configuration names "${setting}": give its contents with --${flag} <file> (nothing is rendered without them)`);
      return {};
    }
    return objectData(parseYaml(io.readFile(file), file)[0], file);
  };
  const cm = config.podEnvironmentConfigmap;
  const configMap = read(
    'pod-env-configmap',
    cm === undefined || cm.name === '' ? '' : `${cm.namespace ? `${cm.namespace}/` : ''}${cm.name}`,
  );
  const secret = read('pod-env-secret', config.podEnvironmentSecret);
  const backup = read('backup-env-secret', config.logicalBackupCronjobEnvironmentSecret);
  const podEnvironment = configMap === undefined && secret === undefined ? undefined : { configMap, secret };
  return {
    inputs: {
      ...(podEnvironment === undefined ? {} : { podEnvironment }),
      ...(backup === undefined ? {} : { logicalBackupEnvironmentSecret: backup }),
    },
    missing,
  };
}

/** The keys and values of a ConfigMap's or Secret's `data` and `stringData` (a Secret's values stay base64: only its keys are used). */
function objectData(doc: unknown, file: string): Record<string, string> {
  const obj = (doc ?? {}) as { kind?: string; data?: Record<string, string>; stringData?: Record<string, string> };
  if (obj.kind !== 'ConfigMap' && obj.kind !== 'Secret')
    throw new Error(`${file}: found a ${String(obj.kind)}, not a ConfigMap or a Secret`);
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...obj.data, ...obj.stringData })) data[k] = String(v);
  return data;
}

function startOfDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}
