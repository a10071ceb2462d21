// Deterministic hashes of the desired pod template. They are stored as annotations, so rollouts and
// patches are decided by comparing hashes of objects we built ourselves — never by comparing live
// pod-template fields, which the API server fills with defaults (upstream's endless-rollout bugs
// #1383, #1447, #3039).
import { createHash } from 'node:crypto';
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import { POD_TEMPLATE_CONTENT_HASH_ANNOTATION, POD_TEMPLATE_HASH_ANNOTATION } from './labels.js';
import { POSTGRES_CONTAINER_NAME } from './pod-volumes.js';

export interface PodTemplateHashOptions {
  /**
   * Leave the postgres container's image out (config enable_lazy_spilo_upgrade): a new image then
   * reaches pods only when they are re-created for another reason.
   */
  readonly ignorePostgresImage?: boolean;
}

/** JSON with object keys sorted at every level and undefined values dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * SPILO_CONFIGURATION without bootstrap.dcs: those settings only matter when a cluster is first
 * bootstrapped and are applied to running clusters through Patroni's API, so upstream
 * (compareSpiloConfiguration) never rotates pods for them.
 */
function withoutDcs(value: string): string {
  try {
    const parsed = JSON.parse(value) as { bootstrap?: Record<string, unknown> };
    if (parsed.bootstrap !== undefined) delete parsed.bootstrap['dcs'];
    return canonicalJson(parsed);
  } catch {
    return value;
  }
}

function rotationRelevantContainer(container: V1Container, options: PodTemplateHashOptions): V1Container {
  if (container.name !== POSTGRES_CONTAINER_NAME) return container;
  const out: V1Container = { ...container };
  if (options.ignorePostgresImage) delete out.image;
  out.env = (container.env ?? []).map((e) =>
    e.name === 'SPILO_CONFIGURATION' && e.value !== undefined ? { ...e, value: withoutDcs(e.value) } : e,
  );
  return out;
}

/**
 * What a pod rotation depends on: the template's labels and spec (DCS-only Spilo settings and,
 * under lazy upgrade, the postgres image excepted). Template annotations are left out: upstream
 * never rotates pods for annotation changes, and the hash annotation itself lives there.
 */
export function rotationRelevantTemplate(template: V1PodTemplateSpec, options: PodTemplateHashOptions = {}): unknown {
  const spec = template.spec ?? { containers: [] };
  return {
    labels: template.metadata?.labels ?? {},
    spec: { ...spec, containers: spec.containers.map((c) => rotationRelevantContainer(c, options)) },
  };
}

/** sha256 (hex) of the canonical JSON of the rotation-relevant part of the template. */
export function podTemplateHash(template: V1PodTemplateSpec, options: PodTemplateHashOptions = {}): string {
  return sha256(canonicalJson(rotationRelevantTemplate(template, options)));
}

/** sha256 (hex) of the whole template, hash annotations excepted. */
export function podTemplateContentHash(template: V1PodTemplateSpec): string {
  const annotations = { ...(template.metadata?.annotations ?? {}) };
  delete annotations[POD_TEMPLATE_HASH_ANNOTATION];
  delete annotations[POD_TEMPLATE_CONTENT_HASH_ANNOTATION];
  return sha256(canonicalJson({ ...template, metadata: { ...(template.metadata ?? {}), annotations } }));
}

/** The rotation hash a built or live template carries, if any. */
export function storedPodTemplateHash(template: V1PodTemplateSpec | undefined): string | undefined {
  return template?.metadata?.annotations?.[POD_TEMPLATE_HASH_ANNOTATION];
}

/** Returns the template with the rotation hash annotation set (a new object; the input is not changed). */
export function withPodTemplateHash(template: V1PodTemplateSpec, options: PodTemplateHashOptions = {}): V1PodTemplateSpec {
  const hash = podTemplateHash(template, options);
  const metadata = { ...(template.metadata ?? {}) };
  metadata.annotations = { ...(metadata.annotations ?? {}), [POD_TEMPLATE_HASH_ANNOTATION]: hash };
  return { ...template, metadata };
}
