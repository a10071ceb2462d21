// Sidecar containers of the Spilo pod (upstream generateSidecarContainers, getSidecarContainer,
// generateScalyrSidecarSpec, mergeContainers and patchSidecarContainers in pkg/cluster/).
// Order and precedence: manifest sidecars, then config `sidecars`, then the deprecated
// config `sidecar_docker_images` (sorted by name), then Scalyr; the first of a name wins.
import type { V1Container, V1EnvVar, V1VolumeMount } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql, Resources, Sidecar } from '@pgfn/api';
import { appendEnvVars, fieldEnv, secretEnv, valueEnv } from './env-vars.js';
import { clusterName, secretName } from './names.js';
import { defaultResources, resourceRequirements } from './resources.js';

export const SCALYR_SIDECAR_NAME = 'scalyr-sidecar';

/** Variables every sidecar gets first, so it can reach Postgres as the superuser. */
export function sidecarInjectedEnv(superUsername: string, superUserSecret: string): V1EnvVar[] {
  return [
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    valueEnv('POSTGRES_USER', superUsername),
    secretEnv('POSTGRES_PASSWORD', superUserSecret, 'password'),
  ];
}

function sidecarContainer(sidecar: Sidecar, index: number, config: OperatorConfig, path: string): V1Container {
  const container: V1Container = {
    name: sidecar.name || `sidecar-${index}`,
    image: sidecar.image ?? '',
    imagePullPolicy: 'IfNotPresent',
    resources: resourceRequirements(sidecar.resources, defaultResources(config), config, {
      path: `${path}.resources`,
      enforceThresholds: false,
    }),
  };
  if (sidecar.env !== undefined && sidecar.env.length > 0) container.env = sidecar.env;
  if (sidecar.ports !== undefined && sidecar.ports.length > 0) container.ports = sidecar.ports;
  if (sidecar.command !== undefined && sidecar.command.length > 0) container.command = sidecar.command;
  return container;
}

function scalyrSidecar(cluster: Postgresql, config: OperatorConfig): V1Container | undefined {
  if (config.scalyrApiKey === '' || config.scalyrImage === '') return undefined;
  const own: Resources = {
    requests: { cpu: config.scalyrCpuRequest, memory: config.scalyrMemoryRequest },
    limits: { cpu: config.scalyrCpuLimit, memory: config.scalyrMemoryLimit },
  };
  const env = [valueEnv('SCALYR_API_KEY', config.scalyrApiKey), valueEnv('SCALYR_SERVER_HOST', clusterName(cluster))];
  if (config.scalyrServerUrl !== '') env.push(valueEnv('SCALYR_SERVER_URL', config.scalyrServerUrl));
  return {
    name: SCALYR_SIDECAR_NAME,
    image: config.scalyrImage,
    env,
    imagePullPolicy: 'IfNotPresent',
    resources: resourceRequirements(own, defaultResources(config), config, { path: 'configuration scalyr_*', enforceThresholds: false }),
  };
}

/** Keeps the first container of each name; returns the names dropped as duplicates too. */
export function mergeContainers(...lists: readonly (readonly V1Container[])[]): { containers: V1Container[]; conflicts: string[] } {
  const seen = new Set<string>();
  const containers: V1Container[] = [];
  const conflicts: string[] = [];
  for (const container of lists.flat()) {
    if (seen.has(container.name)) conflicts.push(container.name);
    else {
      seen.add(container.name);
      containers.push(container);
    }
  }
  return { containers, conflicts };
}

/** All sidecars of the pod, each with the injected env and the data volume mounts. */
export function buildSidecars(cluster: Postgresql, config: OperatorConfig, dataMounts: readonly V1VolumeMount[]): V1Container[] {
  const manifest = (cluster.spec.sidecars ?? []).map((s, i) => sidecarContainer(s, i, config, `spec.sidecars[${i}]`));
  const byImage = Object.keys(config.sidecarDockerImages)
    .sort()
    .map((name, i) =>
      sidecarContainer(
        { name, image: config.sidecarDockerImages[name] ?? '' },
        manifest.length + i,
        config,
        `configuration sidecar_docker_images.${name}`,
      ),
    );
  const scalyr = scalyrSidecar(cluster, config);
  const { containers } = mergeContainers(manifest, config.sidecars, byImage, scalyr === undefined ? [] : [scalyr]);
  const injected = sidecarInjectedEnv(config.superUsername, secretName(config.superUsername, clusterName(cluster), config));
  return containers.map((c) => ({
    ...c,
    env: appendEnvVars(injected, ...(c.env ?? [])),
    volumeMounts: [...(c.volumeMounts ?? []), ...dataMounts],
  }));
}
