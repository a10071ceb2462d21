// Pod volumes the way kubelet materialises them, as host directories bind-mounted into the sandbox:
// persistentVolumeClaim → the bound PV's directory (survives the pod), emptyDir → a per-pod directory,
// secret / configMap / downwardAPI / projected (service-account token, kube-root-ca.crt, namespace)
// → files written by the agent; projected tokens are refreshed before they expire.
import { chmodSync, chownSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { V1Container, V1KeyToPath, V1Pod, V1Volume, V1VolumeProjection } from '@kubernetes/client-node';
import { ContainerConfigError, fieldValue, type PodRuntimeFacts } from './env.js';
import type { SandboxMount } from './sandbox.js';

/** What volume materialisation needs from the API; every read is of the pod's namespace. */
export interface VolumeSources {
  secret(name: string): Promise<Readonly<Record<string, Buffer>> | undefined>;
  configMap(name: string): Promise<Readonly<Record<string, Buffer>> | undefined>;
  /** A TokenRequest for the pod's service account, bound to the pod. */
  token(serviceAccount: string, audience: string | undefined, expirationSeconds: number): Promise<{ token: string; expiresAt: number }>;
  /** Host directory of the PV bound to the claim; throws ContainerConfigError while unbound. */
  claimPath(claimName: string): Promise<string>;
}

export interface PreparedVolume {
  readonly name: string;
  readonly hostPath: string;
  /** emptyDir with medium Memory: a tmpfs of its own instead of a host directory. */
  readonly memory?: boolean;
  /** Tokens to refresh: file and when to rewrite it (80 % of its lifetime, as kubelet does). */
  readonly tokens: TokenFile[];
}

interface TokenFile {
  readonly file: string;
  readonly serviceAccount: string;
  readonly audience: string | undefined;
  readonly expirationSeconds: number;
  refreshAt: number;
  readonly mode: number;
}

export interface VolumeOwner {
  readonly uid: number;
  readonly gid: number;
}

/** What volumes are made from: referenced objects, the pod's runtime facts, and who owns the files. */
export interface VolumeContext {
  readonly sources: VolumeSources;
  readonly facts: PodRuntimeFacts;
  readonly owner: VolumeOwner;
}

interface PodVolumeContext extends VolumeContext {
  readonly pod: V1Pod;
}

/** Materialises every volume of the pod under `podDir/volumes` (PVCs stay where their PV is). */
export async function prepareVolumes(pod: V1Pod, podDir: string, context: VolumeContext): Promise<Map<string, PreparedVolume>> {
  const out = new Map<string, PreparedVolume>();
  for (const volume of pod.spec?.volumes ?? []) {
    out.set(volume.name, await prepareVolume(volume, join(podDir, 'volumes', volume.name), { ...context, pod }));
  }
  return out;
}

async function prepareVolume(volume: V1Volume, dir: string, context: PodVolumeContext): Promise<PreparedVolume> {
  const { pod, sources, facts, owner } = context;
  const tokens: TokenFile[] = [];
  if (volume.persistentVolumeClaim !== undefined) {
    const hostPath = await sources.claimPath(volume.persistentVolumeClaim.claimName);
    mkdirSync(hostPath, { recursive: true });
    // fsGroup emulation: the volume root belongs to the user the pod's processes run as.
    if (statSync(hostPath).uid !== owner.uid) chownSync(hostPath, owner.uid, owner.gid);
    return { name: volume.name, hostPath, tokens };
  }
  if (volume.emptyDir !== undefined) {
    mkdirSync(dir, { recursive: true });
    // kubelet makes emptyDirs world-writable (mkdir's mode would be cut by the umask).
    chmodSync(dir, 0o777);
    return { name: volume.name, hostPath: dir, tokens, memory: volume.emptyDir.medium === 'Memory' };
  }
  if (volume.hostPath !== undefined) {
    return { name: volume.name, hostPath: volume.hostPath.path, tokens };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (volume.secret !== undefined) {
    const data = await sources.secret(volume.secret.secretName ?? '');
    if (data === undefined && volume.secret.optional !== true)
      throw new ContainerConfigError(`secret "${volume.secret.secretName}" not found`);
    writeKeys(dir, data ?? {}, {
      items: volume.secret.items,
      mode: volume.secret.defaultMode ?? 0o644,
      what: `Secret ${volume.secret.secretName}`,
    });
  } else if (volume.configMap !== undefined) {
    const data = await sources.configMap(volume.configMap.name ?? '');
    if (data === undefined && volume.configMap.optional !== true)
      throw new ContainerConfigError(`configmap "${volume.configMap.name}" not found`);
    writeKeys(dir, data ?? {}, {
      items: volume.configMap.items,
      mode: volume.configMap.defaultMode ?? 0o644,
      what: `ConfigMap ${volume.configMap.name}`,
    });
  } else if (volume.downwardAPI !== undefined) {
    for (const item of volume.downwardAPI.items ?? []) {
      if (item.fieldRef !== undefined)
        writeFile(dir, item.path, Buffer.from(fieldValue(item.fieldRef, pod, facts)), item.mode ?? volume.downwardAPI.defaultMode ?? 0o644);
    }
  } else if (volume.projected !== undefined) {
    for (const source of volume.projected.sources ?? []) {
      await writeProjection(source, { dir, mode: volume.projected.defaultMode ?? 0o644, tokens }, context);
    }
  } else {
    throw new ContainerConfigError(
      `volume "${volume.name}": only persistentVolumeClaim, emptyDir, hostPath, secret, configMap, downwardAPI and projected volumes ` +
        'are supported by the pgfn node agent',
    );
  }
  return { name: volume.name, hostPath: dir, tokens };
}

/** Where a projected source goes: the volume's folder, the default mode, the tokens to keep fresh. */
interface ProjectionTarget {
  readonly dir: string;
  readonly mode: number;
  readonly tokens: TokenFile[];
}

async function writeProjection(source: V1VolumeProjection, target: ProjectionTarget, context: PodVolumeContext): Promise<void> {
  const { dir, mode, tokens } = target;
  const { pod, sources, facts } = context;
  if (source.serviceAccountToken !== undefined) {
    const { path, audience, expirationSeconds = 3600 } = source.serviceAccountToken;
    const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
    const issued = await sources.token(serviceAccount, audience, expirationSeconds);
    const file = join(dir, path);
    writeFile(dir, path, Buffer.from(issued.token), mode);
    tokens.push({ file, serviceAccount, audience, expirationSeconds, mode, refreshAt: refreshTime(Date.now(), issued.expiresAt) });
  } else if (source.configMap !== undefined) {
    const data = await sources.configMap(source.configMap.name ?? '');
    if (data === undefined && source.configMap.optional !== true)
      throw new ContainerConfigError(`configmap "${source.configMap.name}" not found`);
    writeKeys(dir, data ?? {}, { items: source.configMap.items, mode, what: `ConfigMap ${source.configMap.name}` });
  } else if (source.secret !== undefined) {
    const data = await sources.secret(source.secret.name ?? '');
    if (data === undefined && source.secret.optional !== true) throw new ContainerConfigError(`secret "${source.secret.name}" not found`);
    writeKeys(dir, data ?? {}, { items: source.secret.items, mode, what: `Secret ${source.secret.name}` });
  } else if (source.downwardAPI !== undefined) {
    for (const item of source.downwardAPI.items ?? []) {
      if (item.fieldRef !== undefined) writeFile(dir, item.path, Buffer.from(fieldValue(item.fieldRef, pod, facts)), item.mode ?? mode);
    }
  }
}

/** Rewrites tokens that reached 80 % of their lifetime; returns how many were refreshed. */
export async function refreshTokens(volumes: Iterable<PreparedVolume>, sources: VolumeSources, now = Date.now()): Promise<number> {
  let refreshed = 0;
  for (const volume of volumes) {
    for (const token of volume.tokens) {
      if (now < token.refreshAt) continue;
      const issued = await sources.token(token.serviceAccount, token.audience, token.expirationSeconds);
      writeFile(dirname(token.file), posix.basename(token.file), Buffer.from(issued.token), token.mode);
      token.refreshAt = refreshTime(now, issued.expiresAt);
      refreshed++;
    }
  }
  return refreshed;
}

function refreshTime(issuedAt: number, expiresAt: number): number {
  return issuedAt + Math.max(10_000, (expiresAt - issuedAt) * 0.8);
}

/** Which keys go to which files (all keys when `items` is empty), the default mode, and what for errors. */
interface KeySelection {
  readonly items: V1KeyToPath[] | undefined;
  readonly mode: number;
  readonly what: string;
}

function writeKeys(dir: string, data: Readonly<Record<string, Buffer>>, selection: KeySelection): void {
  const { items, mode, what } = selection;
  if (items === undefined || items.length === 0) {
    for (const [key, value] of Object.entries(data)) writeFile(dir, key, value, mode);
    return;
  }
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) throw new ContainerConfigError(`couldn't find key ${item.key} in ${what}`);
    writeFile(dir, item.path, value, item.mode ?? mode);
  }
}

/** Atomic write (temp file + rename), so a reader never sees half a token. */
function writeFile(dir: string, relative: string, content: Buffer, mode: number): void {
  const normalized = posix.normalize(relative);
  if (normalized.startsWith('..') || posix.isAbsolute(normalized))
    throw new ContainerConfigError(`volume path "${relative}" leaves the volume`);
  const file = join(dir, normalized);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, file);
}

/** The container's volumeMounts as sandbox bind mounts, parents first (as runc orders them). */
export function containerMounts(container: V1Container, volumes: ReadonlyMap<string, PreparedVolume>): SandboxMount[] {
  const mounts: SandboxMount[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name);
    if (volume === undefined)
      throw new ContainerConfigError(`volumeMount "${mount.name}" of container "${container.name}" names no volume of the pod`);
    if (volume.memory === true && (mount.subPath ?? '') === '') {
      mounts.push({ kind: 'tmpfs', target: mount.mountPath, mode: '1777' });
      continue;
    }
    let source = volume.hostPath;
    let file = false;
    if (mount.subPath !== undefined && mount.subPath !== '') {
      const sub = posix.normalize(mount.subPath);
      if (sub.startsWith('..') || posix.isAbsolute(sub))
        throw new ContainerConfigError(`subPath "${mount.subPath}" leaves volume "${mount.name}"`);
      source = join(volume.hostPath, sub);
      if (!existsSync(source)) mkdirSync(source, { recursive: true });
      file = statSync(source).isFile();
    }
    mounts.push({ kind: 'bind', source, target: mount.mountPath, readOnly: mount.readOnly === true, file });
  }
  return mounts.sort((a, b) => depth(a.target) - depth(b.target));
}

function depth(path: string): number {
  return path.split('/').filter((p) => p !== '').length;
}

/** Where a path inside the sandbox lives on the host, through the bind mounts (longest target first). */
export function hostPathOf(path: string, mounts: readonly SandboxMount[]): string | undefined {
  let best: { source: string; target: string } | undefined;
  for (const m of mounts) {
    if (m.kind !== 'bind' || m.file === true) continue;
    const target = m.target.replace(/\/+$/, '');
    if ((path === target || path.startsWith(`${target}/`)) && (best === undefined || target.length > best.target.length)) {
      best = { source: m.source, target };
    }
  }
  return best === undefined ? undefined : best.source + path.slice(best.target.length);
}
