// The pod template of the Spilo StatefulSet (upstream generateStatefulSet / generatePodTemplate,
// pkg/cluster/k8sres.go), with the pod-template hash annotation.
import type { V1PodSecurityContext, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { appendEnvVars } from './env-vars.js';
import { objectAnnotations, objectLabels } from './labels.js';
import { podServiceAccountName } from './names.js';
import { withPodTemplateHash } from './pod-template-hash.js';
import { addAdditionalVolumes, addRunVolume, addSecretVolume, addShmVolume, dataVolumeMount, type PodVolumes } from './pod-volumes.js';
import { postgresResources } from './resources.js';
import { nodeAffinity, podAffinity, tolerations, topologySpreadConstraints } from './scheduling.js';
import { buildSidecars } from './sidecars.js';
import { spiloConfigurationJson } from './spilo-config.js';
import { spiloContainer } from './spilo-container.js';
import { spiloEnv, type PodEnvironmentInputs } from './spilo-env.js';
import { tlsMounts } from './tls.js';

/** Annotation through which kube2iam / kiam give the pod an AWS IAM role (config kube_iam_role). */
export const KUBE_IAM_ANNOTATION = 'iam.amazonaws.com/role';

export interface PodTemplateResult {
  readonly template: V1PodTemplateSpec;
  /** Parts of the manifest that were ignored, in sentences for Events/logs. */
  readonly warnings: string[];
}

export function buildPodTemplate(cluster: Postgresql, config: OperatorConfig, inputs: PodEnvironmentInputs = {}): PodTemplateResult {
  const spec = cluster.spec;
  const tls = tlsMounts(spec.tls);
  const env = appendEnvVars(spiloEnv(cluster, config, spiloConfigurationJson(spec.postgresql, spec.patroni, config), inputs), ...tls.env);
  const dataMount = dataVolumeMount(spec.volume);
  const postgres = spiloContainer(cluster, config, { resources: postgresResources(cluster, config), env, volumeMounts: [dataMount] });
  const pod: PodVolumes = { volumes: [], containers: [postgres, ...buildSidecars(cluster, config, [dataMount])] };

  // Same order as upstream: shm, shared socket dir, additional secret, additional volumes.
  if (spec.enableShmVolume ?? config.enableShmVolume) addShmVolume(pod);
  if (config.sharePgsocketWithSidecars) addRunVolume(pod);
  if (config.additionalSecretMount !== '') addSecretVolume(pod, config.additionalSecretMount, config.additionalSecretMountPath);
  const warnings = addAdditionalVolumes(pod, [...(spec.additionalVolumes ?? []), ...tls.volumes]);

  const labels = objectLabels(cluster, config);
  const podSpec: V1PodSpec = {
    serviceAccountName: podServiceAccountName(config),
    terminationGracePeriodSeconds: Math.trunc(config.podTerminateGracePeriod),
    securityContext: podSecurityContext(cluster, config),
    containers: pod.containers,
  };
  if (spec.initContainers !== undefined && spec.initContainers.length > 0) podSpec.initContainers = structuredClone(spec.initContainers);
  const tol = tolerations(spec.tolerations, config);
  if (tol.length > 0) podSpec.tolerations = tol;
  if (spec.schedulerName) podSpec.schedulerName = spec.schedulerName;
  const affinity = podAffinity(labels, nodeAffinity(spec.nodeAffinity, config), config);
  if (affinity !== undefined) podSpec.affinity = affinity;
  const priorityClassName = spec.podPriorityClassName || config.podPriorityClassName;
  if (priorityClassName) podSpec.priorityClassName = priorityClassName;
  const spread = topologySpreadConstraints(spec.topologySpreadConstraints);
  if (spread !== undefined) podSpec.topologySpreadConstraints = spread;
  if (pod.volumes.length > 0) podSpec.volumes = pod.volumes;

  const template: V1PodTemplateSpec = { metadata: { labels, annotations: podAnnotations(cluster, config) }, spec: podSpec };
  return { template: withPodTemplateHash(template, { ignorePostgresImage: config.enableLazySpiloUpgrade }), warnings };
}

/** config custom_pod_annotations, overridden by spec.podAnnotations, then inherited annotations and the IAM role. */
function podAnnotations(cluster: Postgresql, config: OperatorConfig): Record<string, string> {
  const base = { ...config.customPodAnnotations, ...(cluster.spec.podAnnotations ?? {}) };
  const annotations = objectAnnotations(cluster, config, base) ?? {};
  if (config.kubeIamRole !== '') annotations[KUBE_IAM_ANNOTATION] = config.kubeIamRole;
  return annotations;
}

/** User, group and fsGroup from config spilo_runasuser/… , each overridden by the manifest. */
function podSecurityContext(cluster: Postgresql, config: OperatorConfig): V1PodSecurityContext {
  const context: V1PodSecurityContext = {};
  const runAsUser = cluster.spec.spiloRunAsUser ?? config.spiloRunasuser;
  const runAsGroup = cluster.spec.spiloRunAsGroup ?? config.spiloRunasgroup;
  const fsGroup = cluster.spec.spiloFSGroup ?? config.spiloFsgroup;
  if (runAsUser !== undefined) context.runAsUser = runAsUser;
  if (runAsGroup !== undefined) context.runAsGroup = runAsGroup;
  if (fsGroup !== undefined) context.fsGroup = fsGroup;
  return context;
}
