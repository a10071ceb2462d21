import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Root of the repository (this file lives at shared/controlplane/src/); PGFN_REPO_ROOT names it for
 * code bundled elsewhere (a bench's harness process runs as one .mjs in the cache).
 */
export const repoRoot = process.env['PGFN_REPO_ROOT'] ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The pinned versions, read from hack/versions.env: the one place versions are set. */
export function readVersions(file = join(repoRoot, 'hack/versions.env')): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

export function cacheDir(): string {
  return process.env['PGFN_CACHE'] ?? join(homedir(), '.cache/pgfn');
}

export interface Binaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly kwok: string;
}

/** Paths of the cached binaries; throws naming the build command when one is missing. */
export function binaries(): Binaries {
  const v = readVersions();
  const bin = join(cacheDir(), 'bin');
  const k8s = join(bin, `kubernetes-${need(v, 'KUBERNETES_VERSION')}`);
  const paths: Binaries = {
    etcd: join(bin, `etcd-${need(v, 'ETCD_VERSION')}`, 'etcd'),
    kubeApiserver: join(k8s, 'kube-apiserver'),
    kubeControllerManager: join(k8s, 'kube-controller-manager'),
    kubeScheduler: join(k8s, 'kube-scheduler'),
    kubectl: join(k8s, 'kubectl'),
    kwok: join(bin, `kwok-${need(v, 'KWOK_VERSION')}`, 'kwok'),
  };
  const missing = (Object.values(paths) as string[]).filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(`control-plane binaries missing (${missing.join(', ')}); build them with: bash hack/build-bins.sh`);
  }
  return paths;
}

function need(v: Record<string, string>, key: string): string {
  const value = v[key];
  if (value === undefined || value === '') throw new Error(`hack/versions.env lacks ${key}`);
  return value;
}
