// Knative's own admission logic (SetDefaults, then Validate, in a create context with a fresh install's
// config-* ConfigMaps), run by the knative-webhook CLI (hack/knative-webhook/main.go) over manifests:
// what Knative's webhooks would change and refuse, without a cluster or a webhook.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, readVersions, repoRoot } from '@pgfn/controlplane';
import type { Manifest } from './manifests.js';

export interface AdmissionResult {
  readonly file: string;
  /** Position of the document in its file (0-based). */
  readonly index: number;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  /** Whether a Knative webhook defaults and validates this kind (false: passed through unchanged). */
  readonly checked: boolean;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  /** The object after Knative's defaulting (unchanged when not checked or not decodable). */
  readonly object: Manifest;
}

const SOURCE = join(repoRoot, 'hack/knative-webhook/main.go');

/** Path of the cached CLI (the folder names the Knative versions and a hash of its source, as build-bins.sh does). */
export function knativeWebhookBinary(): string {
  const v = readVersions();
  const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 12);
  const dir = `knative-webhook-eventing-${v['KNATIVE_EVENTING_VERSION'] ?? '?'}-serving-${v['KNATIVE_SERVING_VERSION'] ?? '?'}-${hash}`;
  const bin = join(cacheDir(), 'bin', dir, 'knative-webhook');
  if (!existsSync(bin)) throw new Error(`knative-webhook missing (${bin}); build it with: bash hack/build-bins.sh knative-webhook`);
  return bin;
}

/** Admits every document of these YAML files. */
export async function admitFiles(files: readonly string[]): Promise<AdmissionResult[]> {
  return run(files, undefined);
}

/** Admits objects already loaded (a kustomization, objects built in code); `file` is "-" in the results. */
export async function admitObjects(objects: readonly Manifest[]): Promise<AdmissionResult[]> {
  return run(['-'], objects.map((o) => JSON.stringify(o)).join('\n---\n'));
}

/** Objects as Knative's defaulting webhook would store them; throws listing every object Knative refuses. */
export async function defaultedOrThrow(objects: readonly Manifest[]): Promise<Manifest[]> {
  const results = await admitObjects(objects);
  const refused = results.filter((r) => r.errors.length > 0);
  if (refused.length > 0) {
    const lines = refused.map((r) => `${r.kind} ${r.namespace ?? ''}/${r.name}: ${r.errors.join('; ')}`);
    throw new Error(`Knative's webhook would refuse: ${lines.join(' | ')}`);
  }
  return results.map((r) => r.object);
}

async function run(args: readonly string[], stdin: string | undefined): Promise<AdmissionResult[]> {
  const bin = knativeWebhookBinary();
  const child = spawn(bin, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.end(stdin ?? '');
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  // Exit 1 means "some object has errors" and still prints the results; anything else is a failure.
  if (code !== 0 && code !== 1) throw new Error(`${bin} exited with ${code}: ${Buffer.concat(err).toString('utf8').trim()}`);
  return JSON.parse(Buffer.concat(out).toString('utf8')) as AdmissionResult[];
}
