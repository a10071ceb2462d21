// The postgres (Spilo) container (upstream generateContainer, generateSpiloReadinessProbe,
// generateSpiloLivenessProbe and generateCapabilities in pkg/cluster/k8sres.go).
import type { V1Capabilities, V1Container, V1EnvVar, V1Probe, V1ResourceRequirements, V1VolumeMount } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { POSTGRES_CONTAINER_NAME } from './pod-volumes.js';

export const PATRONI_API_PORT = 8008;
export const POSTGRES_PORT = 5432;
/** Port upstream reserves for the operator's own API in the pod; kept for drop-in compatibility. */
export const OPERATOR_API_PORT = 8080;

/** Patroni answers /readiness with 200 when it holds the leader lock or runs Postgres with a reachable DCS. */
export function spiloReadinessProbe(): V1Probe {
  return {
    httpGet: { path: '/readiness', port: PATRONI_API_PORT, scheme: 'HTTP' },
    initialDelaySeconds: 6,
    periodSeconds: 10,
    timeoutSeconds: 5,
    successThreshold: 1,
    failureThreshold: 3,
  };
}

/** Capabilities from config additional_pod_capabilities, upper-cased; undefined when none. */
export function capabilities(names: readonly string[]): V1Capabilities | undefined {
  return names.length === 0 ? undefined : { add: names.map((n) => n.toUpperCase()) };
}

export interface SpiloContainerParts {
  readonly resources: V1ResourceRequirements;
  readonly env: V1EnvVar[];
  readonly volumeMounts: V1VolumeMount[];
}

export function spiloContainer(cluster: Postgresql, config: OperatorConfig, parts: SpiloContainerParts): V1Container {
  const container: V1Container = {
    name: POSTGRES_CONTAINER_NAME,
    image: cluster.spec.dockerImage || config.dockerImage,
    imagePullPolicy: 'IfNotPresent',
    resources: parts.resources,
    ports: [PATRONI_API_PORT, POSTGRES_PORT, OPERATOR_API_PORT].map((containerPort) => ({ containerPort, protocol: 'TCP' })),
    volumeMounts: parts.volumeMounts,
    env: parts.env,
    securityContext: {
      allowPrivilegeEscalation: config.spiloAllowPrivilegeEscalation,
      privileged: config.spiloPrivileged,
      readOnlyRootFilesystem: false,
    },
  };
  const caps = capabilities(config.additionalPodCapabilities);
  if (caps !== undefined && container.securityContext !== undefined) container.securityContext.capabilities = caps;
  if (cluster.spec.envFrom !== undefined && cluster.spec.envFrom.length > 0) container.envFrom = structuredClone(cluster.spec.envFrom);
  if (config.enableReadinessProbe) container.readinessProbe = spiloReadinessProbe();
  const liveness = cluster.spec.livenessProbe ?? config.livenessProbe;
  if (liveness !== undefined) container.livenessProbe = structuredClone(liveness);
  return container;
}
