// The master Service `<c>` and the replica Service `<c>-repl` (upstream generateService,
// shouldCreateLoadBalancerForService, shouldCreateNodePortForService, configureLoadBalanceService,
// configureNodePortService, generateServiceAnnotations, getCustomServiceAnnotations in
// pkg/cluster/k8sres.go; dnsName and the *DNSName helpers in pkg/cluster/util.go).
import type { V1Service, V1ServiceSpec } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql, PostgresSpec } from '@pgfn/api';
import { extractClusterName } from './cluster-name.js';
import { patroniUsesConfigMaps } from './endpoints.js';
import { clusterNamespace } from './inputs.js';
import { roleObjectLabels, roleSelectorLabels, type PostgresRole } from './labels.js';
import { clusterName, formatTemplate, serviceNameForRole } from './names.js';
import { clusterObjectMeta } from './object-meta.js';
import { POSTGRES_PORT } from './spilo-container.js';

/** external-dns reads the host names of a load balancer from this annotation. */
export const DNS_NAME_ANNOTATION = 'external-dns.alpha.kubernetes.io/hostname';
/** A load balancer without allowedSourceRanges only admits localhost: safe unless opened on purpose. */
export const DEFAULT_LOAD_BALANCER_SOURCE_RANGE = '127.0.0.1/32';

/** How a Service is reachable from outside the cluster. A NodePort wins over a load balancer. */
export interface Exposure {
  readonly nodePort: boolean;
  /** 0 lets Kubernetes choose the node port. */
  readonly nodePortNumber: number;
  readonly loadBalancer: boolean;
}

/** A manifest flag wins over the configuration's; a port only counts when the manifest enables the node port. */
export function exposure(
  manifest: { nodePort: boolean | null | undefined; port: number | null | undefined; loadBalancer: boolean | null | undefined },
  configured: { nodePort: boolean; loadBalancer: boolean },
): Exposure {
  const fromManifest = manifest.nodePort !== undefined && manifest.nodePort !== null;
  return {
    nodePort: fromManifest ? (manifest.nodePort as boolean) : configured.nodePort,
    nodePortNumber: fromManifest ? (manifest.port ?? 0) : 0,
    loadBalancer: manifest.loadBalancer ?? configured.loadBalancer,
  };
}

export function serviceExposure(spec: PostgresSpec, config: OperatorConfig, role: PostgresRole): Exposure {
  return role === 'master'
    ? exposure(
        { nodePort: spec.enableMasterNodePort, port: spec.masterNodePort, loadBalancer: spec.enableMasterLoadBalancer },
        { nodePort: config.enableMasterNodePort, loadBalancer: config.enableMasterLoadBalancer },
      )
    : exposure(
        { nodePort: spec.enableReplicaNodePort, port: spec.replicaNodePort, loadBalancer: spec.enableReplicaLoadBalancer },
        { nodePort: config.enableReplicaNodePort, loadBalancer: config.enableReplicaLoadBalancer },
      );
}

/** True when the Service becomes a load balancer (and so gets a DNS name). */
export function isLoadBalancer(e: Exposure): boolean {
  return !e.nodePort && e.loadBalancer;
}

/** Sets type, node port, source ranges and traffic policy on a ClusterIP service spec. */
export function applyExposure(
  spec: V1ServiceSpec,
  e: Exposure,
  sourceRanges: readonly string[] | null | undefined,
  config: OperatorConfig,
): void {
  if (!e.nodePort && !e.loadBalancer) return;
  if (config.externalTrafficPolicy) spec.externalTrafficPolicy = config.externalTrafficPolicy;
  if (e.nodePort) {
    spec.type = 'NodePort';
    const first = spec.ports?.[0];
    if (e.nodePortNumber !== 0 && first !== undefined) first.nodePort = e.nodePortNumber;
    return;
  }
  spec.type = 'LoadBalancer';
  spec.loadBalancerSourceRanges = sourceRanges && sourceRanges.length > 0 ? [...sourceRanges] : [DEFAULT_LOAD_BALANCER_SOURCE_RANGE];
}

type DnsConfig = Pick<
  OperatorConfig,
  'masterDnsNameFormat' | 'replicaDnsNameFormat' | 'masterLegacyDnsNameFormat' | 'replicaLegacyDnsNameFormat' | 'dbHostedZone'
>;

/** The DNS name of a role's Service for a given cluster name, lower-cased. */
export function roleDnsName(service: { name: string; namespace: string; teamId: string }, config: DnsConfig, role: PostgresRole): string {
  const template = role === 'master' ? config.masterDnsNameFormat : config.replicaDnsNameFormat;
  const { name, namespace, teamId } = service;
  return formatTemplate(template, { cluster: name, namespace, team: teamId, hostedzone: config.dbHostedZone }).toLowerCase();
}

/**
 * The DNS name(s) of a role's load balancer: the current format, plus the legacy
 * `{cluster}.{team}.{hostedzone}` form when the cluster name starts with `<teamId>-`.
 */
export function dnsName(cluster: Postgresql, config: DnsConfig, role: PostgresRole): string {
  const name = clusterName(cluster);
  const teamId = cluster.spec.teamId ?? '';
  const current = roleDnsName({ name, namespace: clusterNamespace(cluster), teamId }, config, role);
  const short = extractClusterName(name, teamId);
  if (!short.ok) return current;
  const template = role === 'master' ? config.masterLegacyDnsNameFormat : config.replicaLegacyDnsNameFormat;
  const legacy = formatTemplate(template, { cluster: short.name, team: teamId, hostedzone: config.dbHostedZone }).toLowerCase();
  return `${current},${legacy}`;
}

/**
 * Service annotations in increasing precedence: config custom_service_annotations, the manifest's
 * serviceAnnotations, then masterServiceAnnotations or replicaServiceAnnotations.
 */
export function customServiceAnnotations(spec: PostgresSpec, config: OperatorConfig, role: PostgresRole): Record<string, string> {
  const perRole = role === 'master' ? spec.masterServiceAnnotations : spec.replicaServiceAnnotations;
  return { ...config.customServiceAnnotations, ...(spec.serviceAnnotations ?? {}), ...(perRole ?? {}) };
}

/** Custom annotations plus the external-dns name for a load balancer, which no custom annotation may override. */
export function serviceAnnotations(cluster: Postgresql, config: OperatorConfig, role: PostgresRole): Record<string, string> {
  const out = customServiceAnnotations(cluster.spec, config, role);
  if (isLoadBalancer(serviceExposure(cluster.spec, config, role))) out[DNS_NAME_ANNOTATION] = dnsName(cluster, config, role);
  return out;
}

/**
 * The Service of a role. The replica Service selects replica pods. The master Service has no selector
 * while Patroni keeps the leader in the Endpoints of the same name (Patroni fills them); with
 * kubernetes_use_configmaps it selects the pod labelled master instead.
 */
export function buildService(cluster: Postgresql, config: OperatorConfig, role: PostgresRole): V1Service {
  const spec: V1ServiceSpec = {
    type: 'ClusterIP',
    ports: [{ name: 'postgresql', port: POSTGRES_PORT, targetPort: POSTGRES_PORT }],
  };
  if (role === 'replica' || patroniUsesConfigMaps(config)) spec.selector = roleSelectorLabels(cluster, config, role);
  applyExposure(spec, serviceExposure(cluster.spec, config, role), cluster.spec.allowedSourceRanges, config);
  const meta = clusterObjectMeta(cluster, config, {
    name: serviceNameForRole(cluster, role),
    labels: roleObjectLabels(cluster, config, role),
    annotations: serviceAnnotations(cluster, config, role),
  });
  return { apiVersion: 'v1', kind: 'Service', metadata: meta, spec };
}

/** Master Service first, then the replica Service. */
export function buildServices(cluster: Postgresql, config: OperatorConfig): V1Service[] {
  return [buildService(cluster, config, 'master'), buildService(cluster, config, 'replica')];
}
