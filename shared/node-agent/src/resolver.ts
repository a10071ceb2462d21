// Service names to ready backend addresses, for code that runs outside the cluster (functions run
// locally, tests, benchmarks, the agent's PgBouncer pods). Inside a cluster the same names go through
// DNS and kube-proxy, which read EndpointSlices. Here pods have loopback addresses (ip-pool.ts), which
// the API server refuses in EndpointSlices and Endpoints, so the endpoint controllers can never
// publish them. We therefore do their selection ourselves: the Service's selector, pods that are
// Ready and not terminating, the Service port's targetPort (a number or a named container port).
// Selector-less Services fall back to their Endpoints object, which only works for addresses the API
// server accepts: Patroni's Endpoints DCS mode (it writes the master Endpoints with the pod's own,
// loopback, address) is therefore unsupported on the node agent; the operator default, ConfigMaps, is used.
import { CoreV1Api, type KubeConfig, type V1Endpoints, type V1Pod, type V1Service, type V1ServicePort } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import { equalitySelector, statusCode } from '@pgfn/kube';

export interface ServiceAddress {
  readonly ip: string;
  readonly port: number;
}

/** namespace → Service name → the address its name stands for. */
export type ServiceAddresses = ReadonlyMap<string, ReadonlyMap<string, string>>;

export interface ServiceName {
  readonly service: string;
  readonly namespace: string;
}

export interface ServiceResolver {
  /** Addresses of the ready pods behind `host`; an IP literal resolves to itself; [] when nothing is ready. */
  resolve(host: string, defaultNamespace?: string): Promise<string[]>;
  /** Ready pods behind `host` with the target port of the Service port `port`. */
  resolveAddresses(host: string, port: number, defaultNamespace?: string): Promise<ServiceAddress[]>;
  /**
   * Every Service with a ready backend, by namespace, and the lowest such address (for /etc/hosts).
   * Three cluster-wide lists, shared by the pods that ask within a second.
   */
  clusterAddresses(): Promise<ServiceAddresses>;
}

/**
 * `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc` and `<svc>.<ns>.svc.cluster.local` (a trailing dot is fine);
 * undefined for anything else (IP literals, outside names).
 */
export function parseServiceHost(host: string, defaultNamespace = 'default', clusterDomain = 'cluster.local'): ServiceName | undefined {
  const name = host.replace(/\.$/, '').toLowerCase();
  if (name === '' || isIP(name) !== 0 || name === 'localhost') return undefined;
  const parts = name.split('.');
  const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  if (!parts.every((p) => label.test(p))) return undefined;
  const suffix = ['svc', ...clusterDomain.split('.')];
  const rest = parts.slice(2);
  if (parts.length === 1) return { service: parts[0] as string, namespace: defaultNamespace };
  if (rest.length > suffix.length || rest.some((p, i) => p !== suffix[i])) return undefined;
  return { service: parts[0] as string, namespace: parts[1] as string };
}

/** A backend of a Service: its address and, per Service port (by port number), the target port. */
export interface ServiceBackend {
  readonly ip: string;
  readonly ports: ReadonlyMap<number, number>;
}

/**
 * What the endpoint controllers would publish for `service`, computed from `pods` of its namespace
 * (any pods; the selector is applied here) or, for a Service without a selector, from `endpoints`.
 * Sorted by address.
 */
export function serviceBackends(service: V1Service, pods: readonly V1Pod[], endpoints?: V1Endpoints): ServiceBackend[] {
  const selector = service.spec?.selector ?? {};
  const servicePorts = service.spec?.ports ?? [];
  const out: ServiceBackend[] = [];
  if (Object.keys(selector).length === 0) {
    for (const subset of endpoints?.subsets ?? []) {
      const byName = new Map((subset.ports ?? []).map((p) => [p.name ?? '', p.port]));
      const ports = new Map<number, number>();
      for (const sp of servicePorts) {
        const target = byName.get(sp.name ?? '') ?? (byName.size === 1 ? [...byName.values()][0] : undefined);
        if (target !== undefined) ports.set(sp.port, target);
      }
      // Only `addresses`: `notReadyAddresses` are what the controller holds back.
      for (const a of subset.addresses ?? []) out.push({ ip: a.ip, ports });
    }
  } else {
    const publishNotReady = service.spec?.publishNotReadyAddresses === true;
    for (const pod of pods) {
      const ip = pod.status?.podIP;
      if (ip === undefined || ip === '' || !matches(selector, pod.metadata?.labels ?? {})) continue;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      if (!publishNotReady && (pod.metadata?.deletionTimestamp !== undefined || !isReady(pod))) continue;
      const ports = new Map<number, number>();
      for (const sp of servicePorts) {
        const target = targetPortOf(sp, pod);
        if (target !== undefined) ports.set(sp.port, target);
      }
      out.push({ ip, ports });
    }
  }
  return dedupe(out).sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
}

export function createServiceResolver(kc: KubeConfig, clusterDomain = 'cluster.local'): ServiceResolver {
  const core = kc.makeApiClient(CoreV1Api);

  function nameOf(host: string, defaultNamespace: string | undefined): ServiceName {
    const name = parseServiceHost(host, defaultNamespace, clusterDomain);
    if (name === undefined) throw new Error(`"${host}" is not a Service name (<svc>.<ns>.svc[.${clusterDomain}])`);
    return name;
  }

  async function backends(name: ServiceName): Promise<ServiceBackend[]> {
    let service: V1Service;
    try {
      service = await core.readNamespacedService({ name: name.service, namespace: name.namespace });
    } catch (err) {
      if (statusCode(err) === 404) return [];
      throw err;
    }
    const selector = service.spec?.selector ?? {};
    if (Object.keys(selector).length > 0) {
      const pods = await core.listNamespacedPod({ namespace: name.namespace, labelSelector: equalitySelector(selector) });
      return serviceBackends(service, pods.items);
    }
    try {
      return serviceBackends(service, [], await core.readNamespacedEndpoints({ name: name.service, namespace: name.namespace }));
    } catch (err) {
      if (statusCode(err) === 404) return [];
      throw err;
    }
  }

  let cached: { at: number; read: Promise<ServiceAddresses> } | undefined;
  async function readClusterAddresses(): Promise<ServiceAddresses> {
    const [services, pods, endpoints] = await Promise.all([
      core.listServiceForAllNamespaces(),
      core.listPodForAllNamespaces(),
      core.listEndpointsForAllNamespaces(),
    ]);
    const key = (o: { metadata?: { namespace?: string; name?: string } }): string =>
      `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    const endpointsByKey = new Map(endpoints.items.map((e) => [key(e), e]));
    const podsByNamespace = new Map<string, V1Pod[]>();
    for (const pod of pods.items) {
      const ns = pod.metadata?.namespace ?? '';
      podsByNamespace.set(ns, [...(podsByNamespace.get(ns) ?? []), pod]);
    }
    const out = new Map<string, Map<string, string>>();
    for (const service of [...services.items].sort((a, b) => key(a).localeCompare(key(b)))) {
      const ns = service.metadata?.namespace ?? '';
      const ip = serviceBackends(service, podsByNamespace.get(ns) ?? [], endpointsByKey.get(key(service)))[0]?.ip;
      if (ip === undefined) continue;
      const names = out.get(ns) ?? new Map<string, string>();
      names.set(service.metadata?.name ?? '', ip);
      out.set(ns, names);
    }
    return out;
  }

  return {
    async resolve(host, defaultNamespace) {
      if (isIP(host) !== 0) return [host];
      return [...new Set((await backends(nameOf(host, defaultNamespace))).map((b) => b.ip))];
    },
    async resolveAddresses(host, port, defaultNamespace) {
      if (isIP(host) !== 0) return [{ ip: host, port }];
      const out: ServiceAddress[] = [];
      for (const b of await backends(nameOf(host, defaultNamespace))) {
        const target = b.ports.get(port);
        if (target !== undefined) out.push({ ip: b.ip, port: target });
      }
      return out;
    },
    clusterAddresses() {
      const now = Date.now();
      if (cached === undefined || now - cached.at > 1000) {
        const read = readClusterAddresses();
        cached = { at: now, read };
        read.catch(() => {
          if (cached?.read === read) cached = undefined;
        });
      }
      return cached.read;
    },
  };
}

/**
 * An /etc/hosts like kubelet's managed one, plus Service names as cluster DNS would answer them (we
 * have none): `<svc>` for the pod's own namespace, `<svc>.<ns>`, `<svc>.<ns>.svc` and
 * `<svc>.<ns>.svc.<cluster domain>` for every namespace.
 */
export function hostsFile(pod: {
  readonly podIP: string;
  readonly podName: string;
  readonly namespace: string;
  readonly services: ServiceAddresses;
  readonly clusterDomain?: string;
}): string {
  const domain = pod.clusterDomain ?? 'cluster.local';
  const lines = [
    '# Kubernetes-managed hosts file (pgfn node agent: Service names resolve to a ready pod).',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${pod.podIP}\t${pod.podName}`,
  ];
  // The pod's own namespace first: its short names.
  const namespaces = [...pod.services.keys()].sort((a, b) => (a === pod.namespace ? -1 : b === pod.namespace ? 1 : a.localeCompare(b)));
  for (const namespace of namespaces) {
    for (const [service, ip] of pod.services.get(namespace) ?? []) {
      const short = namespace === pod.namespace ? `${service} ` : '';
      lines.push(`${ip}\t${short}${service}.${namespace} ${service}.${namespace}.svc ${service}.${namespace}.svc.${domain}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function matches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function isReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The port a Service port reaches on `pod`; undefined when a named targetPort is not declared there. */
function targetPortOf(servicePort: V1ServicePort, pod: V1Pod): number | undefined {
  const target = servicePort.targetPort;
  if (target === undefined || target === '' || target === 0) return servicePort.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const container of pod.spec?.containers ?? []) {
    const port = (container.ports ?? []).find((p) => p.name === target && (p.protocol ?? 'TCP') === (servicePort.protocol ?? 'TCP'));
    if (port !== undefined) return port.containerPort;
  }
  return undefined;
}

function dedupe(backends: ServiceBackend[]): ServiceBackend[] {
  const byIp = new Map<string, ServiceBackend>();
  for (const b of backends) {
    const known = byIp.get(b.ip);
    byIp.set(b.ip, known === undefined ? b : { ip: b.ip, ports: new Map([...b.ports, ...known.ports]) });
  }
  return [...byIp.values()];
}
