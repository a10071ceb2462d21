// `npm run render`: prints the objects pgfn would create for a manifest, as a YAML stream, without a
// cluster. Output is stable: passwords are numbered placeholders ("<generated-password-1>", …, in
// build order, never real secrets) and the clock is fixed by --now (default: today, 00:00 UTC, which
// only rotation dates depend on). Validation warnings go to stderr; errors too, with exit code 1.
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
import type { KubeObject } from './inputs.js';

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
      const doc = new Document(o, { aliasDuplicateObjects: false });
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

const USAGE =
  'usage: npm run render -- -f <manifest.yaml> [--config <configmap.yaml|operatorconfiguration.yaml>] [-n <namespace>] [--now <RFC 3339 time>]';

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

function render(args: { file?: string; config?: string; namespace?: string; now?: string }, io: RenderIo): number {
  const loaded =
    args.config === undefined
      ? { config: structuredClone(DEFAULT_OPERATOR_CONFIG) as OperatorConfig, errors: [] }
      : loadConfigDocument(parseYaml(io.readFile(args.config), args.config)[0]);
  for (const e of loaded.errors) io.stderr(`error: ${args.config}: ${e}\n`);
  const now = args.now === undefined ? startOfDay(io.today()) : new Date(args.now);
  if (Number.isNaN(now.getTime())) throw new Error(`--now "${args.now}" is not a time such as 2026-01-31T00:00:00Z`);
  let failed = loaded.errors.length > 0;
  const rendered: string[] = [];
  const newPassword = placeholderPasswords();
  for (const doc of parseYaml(io.readFile(args.file ?? ''), args.file ?? '')) {
    const cluster = doc as Postgresql;
    if (cluster.kind !== 'postgresql')
      throw new Error(`${args.file}: found a ${String(cluster.kind)}; only postgresql objects can be rendered`);
    if (args.namespace !== undefined) cluster.metadata = { ...cluster.metadata, namespace: args.namespace };
    const result = buildCluster({ cluster, config: loaded.config, existingSecrets: new Map(), newPassword, now });
    for (const e of result.errors) io.stderr(`${e.severity}: ${cluster.metadata?.name ?? '?'}: ${e.path}: ${e.message}\n`);
    if (result.errors.some((e) => e.severity === 'error')) failed = true;
    else rendered.push(renderYaml(result.objects));
  }
  if (failed) return 1;
  io.stdout(rendered.join('---\n'));
  return 0;
}

function startOfDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}
