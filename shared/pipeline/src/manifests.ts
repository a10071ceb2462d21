import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '@pgfn/controlplane';
import type { DeliverySpec, DestinationSpec } from './delivery.js';
import type { SubscriptionsApiFilter } from './filters.js';

/** The repository's knative/ folder. */
export const KNATIVE_DIR = join(repoRoot, 'knative');

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: unknown;
  readonly [key: string]: unknown;
}

export interface TriggerManifest extends Manifest {
  readonly spec: {
    readonly broker: string;
    readonly filter?: { readonly attributes?: Readonly<Record<string, string>> };
    readonly filters?: readonly SubscriptionsApiFilter[];
    readonly subscriber: DestinationSpec;
    readonly delivery?: DeliverySpec;
  };
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] }[];
}

export interface ApiServerSourceManifest extends Manifest {
  readonly spec: {
    readonly mode?: string;
    readonly serviceAccountName?: string;
    readonly namespaceSelector?: LabelSelector;
    readonly resources: readonly { readonly apiVersion: string; readonly kind: string; readonly selector?: LabelSelector }[];
    readonly owner?: { readonly apiVersion?: string; readonly kind?: string };
    readonly filters?: readonly SubscriptionsApiFilter[];
    readonly sink: DestinationSpec;
  };
}

export interface PingSourceManifest extends Manifest {
  readonly spec: {
    readonly schedule: string;
    readonly timezone?: string;
    readonly contentType?: string;
    readonly data?: string;
    readonly dataBase64?: string;
    readonly sink: DestinationSpec;
  };
}

export interface KnativeServiceManifest extends Manifest {
  readonly spec: {
    readonly template: {
      readonly metadata?: { readonly annotations?: Readonly<Record<string, string>>; readonly labels?: Readonly<Record<string, string>> };
      readonly spec: {
        readonly serviceAccountName?: string;
        readonly containerConcurrency?: number;
        readonly timeoutSeconds?: number;
        readonly containers: readonly {
          readonly name?: string;
          readonly image: string;
          readonly args?: readonly string[];
          readonly env?: readonly { readonly name: string; readonly value?: string; readonly valueFrom?: unknown }[];
          readonly [key: string]: unknown;
        }[];
      };
    };
  };
}

/** The label naming the pgfn function a Service, Trigger or RBAC object belongs to. */
export const FUNCTION_LABEL = 'pgfn.dev/function';
/** The label marking the dead-letter Service (served locally by the broker itself). */
export const ROLE_LABEL = 'pgfn.dev/role';

/**
 * Every object a kustomization renders from its `resources` (files and folders with their own
 * kustomization.yaml, recursively). Only `resources` is honoured: our kustomizations use no patches
 * or name transformers, so the objects read here are the ones `kubectl apply -k` sends.
 */
export function loadKustomization(dir: string = KNATIVE_DIR): Manifest[] {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (file === undefined) throw new Error(`${dir} has no kustomization.yaml`);
  const [doc] = parseYamlFile(file);
  const resources = (doc as { resources?: unknown } | undefined)?.resources;
  if (!Array.isArray(resources)) throw new Error(`${file}: resources must be a list`);
  return resources.flatMap((r: unknown) => {
    const path = join(dir, String(r));
    return statSync(path).isDirectory() ? loadKustomization(path) : loadManifests(path);
  });
}

/** The Kubernetes objects of one YAML file (empty documents skipped). */
export function loadManifests(file: string): Manifest[] {
  return parseYamlFile(file).filter((d): d is Manifest => isManifest(d, file));
}

function parseYamlFile(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  return docs
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message ?? 'invalid YAML'}`);
      return d.toJSON() as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
}

function isManifest(d: unknown, file: string): boolean {
  if (typeof d !== 'object' || d === null) return false;
  const m = d as Partial<Manifest>;
  if (typeof m.kind !== 'string' || typeof m.apiVersion !== 'string' || typeof m.metadata?.name !== 'string') {
    throw new Error(`${file}: every document must have apiVersion, kind and metadata.name`);
  }
  return true;
}

export function ofKind<T extends Manifest>(objects: readonly Manifest[], apiGroup: string, kind: string): T[] {
  return objects.filter((o) => o.kind === kind && o.apiVersion.split('/')[0] === apiGroup) as T[];
}

export const triggersOf = (objects: readonly Manifest[]): TriggerManifest[] => ofKind(objects, 'eventing.knative.dev', 'Trigger');
export const apiServerSourcesOf = (objects: readonly Manifest[]): ApiServerSourceManifest[] =>
  ofKind(objects, 'sources.knative.dev', 'ApiServerSource');
export const pingSourcesOf = (objects: readonly Manifest[]): PingSourceManifest[] => ofKind(objects, 'sources.knative.dev', 'PingSource');
export const knativeServicesOf = (objects: readonly Manifest[]): KnativeServiceManifest[] =>
  ofKind(objects, 'serving.knative.dev', 'Service');
