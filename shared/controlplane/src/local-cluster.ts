import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlPlaneState } from './controlplane.js';
import { cacheDir } from './versions.js';

/** Where `npm run cluster -- up` keeps the background control plane (certs, data, logs). */
export function clusterDir(): string {
  return process.env['PGFN_CLUSTER_DIR'] ?? join(cacheDir(), 'cluster');
}

export type ClusterState = ControlPlaneState & { readonly owner: number; readonly supervisor?: number };

export function readClusterState(dir = clusterDir()): ClusterState | undefined {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
}
