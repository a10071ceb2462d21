// Volumes of the Spilo pod besides the data volume (upstream addShmVolume, addVarRunVolume,
// addSecretVolume, addAdditionalVolumes in pkg/cluster/k8sres.go).
import type { V1Container, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { AdditionalVolume } from '@pgfn/api';

export const POSTGRES_CONTAINER_NAME = 'postgres';
export const DATA_VOLUME_NAME = 'pgdata';
export const DATA_MOUNT_PATH = '/home/postgres/pgdata';
export const SHM_VOLUME_NAME = 'dshm';
export const SHM_MOUNT_PATH = '/dev/shm';
export const RUN_VOLUME_NAME = 'postgresql-run';
export const RUN_MOUNT_PATH = '/var/run/postgresql';

/** A pod spec under construction: volumes plus the containers they are mounted into. */
export interface PodVolumes {
  volumes: V1Volume[];
  containers: V1Container[];
}

function mountInto(container: V1Container, mount: V1VolumeMount): void {
  container.volumeMounts = [...(container.volumeMounts ?? []), mount];
}

/** A memory-backed /dev/shm for the postgres container: Docker's 64 MB default is too small for Postgres. */
export function addShmVolume(pod: PodVolumes): void {
  pod.volumes.push({ name: SHM_VOLUME_NAME, emptyDir: { medium: 'Memory' } });
  const postgres = pod.containers.find((c) => c.name === POSTGRES_CONTAINER_NAME) ?? pod.containers[0];
  if (postgres !== undefined) mountInto(postgres, { name: SHM_VOLUME_NAME, mountPath: SHM_MOUNT_PATH });
}

/** Shares Postgres' socket directory with every container (share_pgsocket_with_sidecars). */
export function addRunVolume(pod: PodVolumes): void {
  pod.volumes.push({ name: RUN_VOLUME_NAME, emptyDir: { medium: 'Memory' } });
  for (const container of pod.containers) mountInto(container, { name: RUN_VOLUME_NAME, mountPath: RUN_MOUNT_PATH });
}

/** Mounts config additional_secret_mount into every container. */
export function addSecretVolume(pod: PodVolumes, secretName: string, mountPath: string): void {
  pod.volumes.push({ name: secretName, secret: { secretName } });
  for (const container of pod.containers) mountInto(container, { name: secretName, mountPath });
}

/** "all" mounts into every container; no targets means the postgres container only. */
function targetsOf(volume: AdditionalVolume): string[] {
  const targets = volume.targetContainers ?? [];
  return targets.length === 0 ? [POSTGRES_CONTAINER_NAME] : targets;
}

/**
 * Adds spec.additionalVolumes (and the TLS volumes). A volume whose mount path is already taken, or
 * that would hide the data directory, is skipped entirely (upstream still mounted skipped volumes,
 * producing duplicate mount paths the API server rejects). Returns the skipped volumes' reasons.
 */
export function addAdditionalVolumes(pod: PodVolumes, additional: readonly AdditionalVolume[]): string[] {
  const warnings: string[] = [];
  const accepted: AdditionalVolume[] = [];
  const paths = new Map<string, string>();
  for (const volume of additional) {
    const previous = paths.get(volume.mountPath);
    if (previous !== undefined) {
      warnings.push(`additional volume "${volume.name}" is skipped: volume "${previous}" is already mounted at ${volume.mountPath}`);
      continue;
    }
    if (volume.mountPath === DATA_MOUNT_PATH) {
      warnings.push(`additional volume "${volume.name}" is skipped: it cannot be mounted over the data directory ${DATA_MOUNT_PATH}`);
      continue;
    }
    paths.set(volume.mountPath, volume.name);
    accepted.push(volume);
    pod.volumes.push({ ...volume.volumeSource, name: volume.name });
  }
  for (const container of pod.containers) {
    for (const volume of accepted) {
      const targets = targetsOf(volume);
      if (targets.includes('all') || targets.includes(container.name)) mountInto(container, additionalMount(volume));
    }
  }
  return warnings;
}

function additionalMount(volume: AdditionalVolume): V1VolumeMount {
  const mount: V1VolumeMount = { name: volume.name, mountPath: volume.mountPath };
  if (volume.subPath) {
    if (volume.isSubPathExpr) mount.subPathExpr = volume.subPath;
    else mount.subPath = volume.subPath;
  }
  return mount;
}

/** The data volume mount of the postgres container (and of every sidecar). */
export function dataVolumeMount(volume: { subPath?: string | undefined; isSubPathExpr?: boolean | undefined }): V1VolumeMount {
  const mount: V1VolumeMount = { name: DATA_VOLUME_NAME, mountPath: DATA_MOUNT_PATH };
  if (volume.subPath) {
    if (volume.isSubPathExpr) mount.subPathExpr = volume.subPath;
    else mount.subPath = volume.subPath;
  }
  return mount;
}
