// Drift: whether a live object still holds what we applied, judged field by field against the freshly
// built object (upstream's sync compares live with desired and repairs — compareServices,
// compareStatefulSetWith, syncPodDisruptionBudget, syncLogicalBackupJob in pkg/cluster/). Only what we
// set counts: a field the API server defaults or another controller adds is not in the desired object
// and is never looked at; empty values stand for absent ones (the API server drops them); quantities
// compare by value. A keyed list (containers, env, ports, volumes …) must hold exactly the desired
// entries: an entry someone added survives a server-side apply (its fields belong to that manager), so
// the repair replaces such a list with a merge patch first (`replaceLists`).
// Secrets are judged by labels and owner references only: their data is a password, never compared.
import type { KubernetesObject, V1ManagedFieldsEntry, V1ObjectMeta } from '@kubernetes/client-node';
import { FIELD_MANAGER } from './labels.js';
import { compareQuantities, isQuantity } from './quantity.js';

export type DriftAction = 'none' | 'repair';

export interface DriftComparison {
  readonly action: DriftAction;
  /** One sentence per drifted field, naming its path (`spec.ports[port=5432]: missing`). */
  readonly reasons: string[];
  /**
   * A JSON merge patch setting each keyed list that holds entries we never applied back to its
   * desired content; undefined when a server-side apply alone repairs the object.
   */
  readonly replaceLists?: Record<string, unknown>;
}

export interface DriftOptions {
  /** Annotation keys never compared (config ignored_annotations). */
  readonly ignoredAnnotations?: readonly string[];
  /** Our field manager; a later writer under another name is named in the reasons. Default: pgfn. */
  readonly fieldManager?: string;
}

type Json = unknown;
type Obj = Record<string, Json>;

interface Walk {
  /** Annotation keys never compared, at any depth (the pod template's too). */
  readonly ignored: ReadonlySet<string>;
  readonly reasons: string[];
  /** Paths (as field lists) of keyed lists with entries we did not apply. */
  readonly foreignLists: (readonly string[])[];
}

/** Compares a live object with the desired one built now; `repair` when a server-side apply would change it. */
export function compareLive(live: KubernetesObject, desired: KubernetesObject, options: DriftOptions = {}): DriftComparison {
  const walk: Walk = { ignored: new Set(options.ignoredAnnotations ?? []), reasons: [], foreignLists: [] };
  compareMetadata(live.metadata, desired.metadata, walk);
  if (desired.kind !== 'Secret') {
    for (const [field, want] of Object.entries(desired as Obj)) {
      if (field === 'metadata' || field === 'apiVersion' || field === 'kind' || field === 'status') continue;
      compareValue({ have: (live as Obj)[field], want, path: [field], walk });
    }
  }
  if (walk.reasons.length === 0) return { action: 'none', reasons: [] };
  const writer = lastForeignWriter(live.metadata, options.fieldManager ?? FIELD_MANAGER);
  const reasons = writer === undefined ? walk.reasons : walk.reasons.map((r) => `${r} (last written by ${writer})`);
  const replaceLists = walk.foreignLists.length === 0 ? undefined : listPatch(desired, walk.foreignLists);
  return replaceLists === undefined ? { action: 'repair', reasons } : { action: 'repair', reasons, replaceLists };
}

function compareMetadata(live: V1ObjectMeta | undefined, desired: V1ObjectMeta | undefined, walk: Walk): void {
  const ignored = walk.ignored;
  for (const [what, want] of [
    ['labels', desired?.labels],
    ['annotations', desired?.annotations],
  ] as const) {
    const have: Readonly<Record<string, string>> = live?.[what] ?? {};
    for (const [key, value] of Object.entries(want ?? {})) {
      if (what === 'annotations' && ignored.has(key)) continue;
      if (!(key in have)) walk.reasons.push(`metadata.${what}["${key}"]: missing (want "${value}")`);
      else if (have[key] !== value) walk.reasons.push(`metadata.${what}["${key}"]: "${have[key]}", want "${value}"`);
    }
  }
  const owners = new Set((live?.ownerReferences ?? []).map((r) => r.uid));
  for (const ref of desired?.ownerReferences ?? []) {
    if (!owners.has(ref.uid)) walk.reasons.push(`metadata.ownerReferences: the reference to ${ref.kind} "${ref.name}" is missing`);
  }
}

interface At {
  readonly have: Json;
  readonly want: Json;
  readonly path: readonly string[];
  readonly walk: Walk;
}

function compareValue(at: At): void {
  const { have, want, path, walk } = at;
  if (isEmpty(want)) return; // the API server drops empty values; "nothing" cannot have drifted
  if (Array.isArray(want)) return compareList({ ...at, want });
  if (isObject(want)) {
    if (!isObject(have)) {
      walk.reasons.push(`${show(path)}: missing`);
      return;
    }
    const skip = path[path.length - 1] === 'annotations' ? walk.ignored : undefined;
    for (const [field, value] of Object.entries(want)) {
      if (skip?.has(field) !== true) compareValue({ have: have[field], want: value, path: [...path, field], walk });
    }
    return;
  }
  if (!sameScalar(have, want, path)) walk.reasons.push(`${show(path)}: ${describe(have)}, want ${describe(want)}`);
}

function compareList(at: At & { want: readonly Json[] }): void {
  const { have, want, path, walk } = at;
  const haveList = Array.isArray(have) ? (have as Json[]) : [];
  const keyOf = listKey(want);
  if (keyOf === undefined) {
    // An atomic list: a server-side apply replaces it whole, so comparing in order is enough.
    if (haveList.length !== want.length) {
      walk.reasons.push(`${show(path)}: ${haveList.length} item(s), want ${want.length}`);
      return;
    }
    want.forEach((w, i) => compareValue({ have: haveList[i], want: w, path: [...path, `[${i}]`], walk }));
    return;
  }
  const byKey = new Map(haveList.filter(isObject).map((h) => [keyOf(h), h]));
  const wanted = new Set<string>();
  for (const w of want) {
    const key = keyOf(w as Obj);
    wanted.add(key);
    const h = byKey.get(key);
    if (h === undefined) walk.reasons.push(`${show(path)}[${key}]: missing`);
    else compareValue({ have: h, want: w, path: [...path, `[${key}]`], walk });
  }
  const extra = [...byKey.keys()].filter((k) => !wanted.has(k));
  if (extra.length > 0) {
    walk.reasons.push(`${show(path)}: ${extra.map((k) => `[${k}]`).join(', ')} not applied by us`);
    walk.foreignLists.push(path);
  }
}

/**
 * The merge key of a keyed list, as Kubernetes declares it (x-kubernetes-list-map-keys): containers,
 * env, volumes by name; container ports by containerPort; Service ports by port; mounts by
 * mountPath; spread constraints by topology key. Other lists (args, tolerations …) are atomic.
 */
function listKey(items: readonly Json[]): ((o: Obj) => string) | undefined {
  if (!items.every(isObject)) return undefined;
  const all = (field: string): boolean => items.every((i) => isObject(i) && i[field] !== undefined);
  const proto = (o: Obj): string => (typeof o['protocol'] === 'string' ? o['protocol'] : 'TCP');
  if (all('containerPort')) return (o) => `${String(o['containerPort'])}/${proto(o)}`;
  if (all('port')) return (o) => `${String(o['port'])}/${proto(o)}`;
  if (all('mountPath')) return (o) => String(o['mountPath']);
  if (all('topologyKey') && all('whenUnsatisfiable')) return (o) => `${String(o['topologyKey'])}/${String(o['whenUnsatisfiable'])}`;
  if (all('name') && !all('kind')) return (o) => String(o['name']);
  return undefined;
}

function sameScalar(have: Json, want: Json, path: readonly string[]): boolean {
  // false and 0 are dropped when the field is optional, kept when it is a pointer: both mean "as wanted"
  if (have === undefined || have === null) return want === false || want === 0;
  if (typeof have === 'string' && typeof want === 'string' && isResourcePath(path) && isQuantity(have) && isQuantity(want)) {
    return compareQuantities(have, want) === 0;
  }
  // int-or-string fields (targetPort, minAvailable) keep their type, but a quoted number is the same number
  const scalar = (v: Json): v is string | number => typeof v === 'string' || typeof v === 'number';
  return have === want || (scalar(have) && scalar(want) && String(have) === String(want));
}

function isResourcePath(path: readonly string[]): boolean {
  return path.some((p) => p === 'resources' || p === 'sizeLimit' || p === 'capacity');
}

function isObject(v: Json): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmpty(v: Json): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return isObject(v) && Object.values(v).every(isEmpty);
}

function show(path: readonly string[]): string {
  return path.map((p, i) => (p.startsWith('[') || i === 0 ? p : `.${p}`)).join('');
}

function describe(v: Json): string {
  if (v === undefined || v === null) return 'missing';
  const text = typeof v === 'string' ? `"${v}"` : JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * A merge patch replacing each foreign-entry list with its desired content. A list inside a keyed
 * list (a container's env) cannot be addressed by a merge patch, so the outermost list is replaced.
 */
function listPatch(desired: KubernetesObject, lists: readonly (readonly string[])[]): Record<string, unknown> {
  const patch: Obj = {};
  for (const path of lists) {
    const cut = path.findIndex((p) => p.startsWith('['));
    const fields = cut < 0 ? path : path.slice(0, cut);
    let source: Json = desired;
    let target: Obj = patch;
    fields.forEach((field, i) => {
      source = isObject(source) ? source[field] : undefined;
      if (i === fields.length - 1) target[field] = source;
      else target = (target[field] ??= {}) as Obj;
    });
  }
  return patch;
}

/** The manager whose write came after our last apply, if any (status writes excepted). */
function lastForeignWriter(metadata: V1ObjectMeta | undefined, manager: string): string | undefined {
  const entries: V1ManagedFieldsEntry[] = (metadata?.managedFields ?? []).filter(
    (e) => e.subresource === undefined || e.subresource === '',
  );
  const time = (e: V1ManagedFieldsEntry): number => (e.time === undefined ? 0 : new Date(e.time).getTime());
  const ours = Math.max(0, ...entries.filter((e) => e.manager === manager).map(time));
  const later = entries.filter((e) => e.manager !== manager && time(e) >= ours).sort((a, b) => time(b) - time(a));
  return later[0]?.manager;
}
