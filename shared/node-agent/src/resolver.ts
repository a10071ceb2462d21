// Service names to ready endpoint addresses, for code that runs outside the cluster (functions run
// locally, tests, benchmarks, the agent's PgBouncer pods). Inside a cluster the same names go through
// DNS and kube-proxy; here we read the EndpointSlices those would use (Endpoints when a Service has none).
import { CoreV1Api, DiscoveryV1Api, type KubeConfig, type V1EndpointSlice, type V1Service } from '@kubernetes/client-node';
import { isIP } from 'node:net';

export interface ServiceAddress {
  readonly ip: string;
  readonly port: number;
}

export interface ServiceName {
  readonly service: string;
  readonly namespace: string;
}

export interface ServiceResolver {
  /** Ready endpoint IPs of `host`; an IP literal resolves to itself; [] when nothing is ready. */
  resolve(host: string, defaultNamespace?: string): Promise<string[]>;
  /** Ready endpoints of `host` with the target port of the Service port `port`. */
  resolveAddresses(host: string, port: number, defaultNamespace?: string): Promise<ServiceAddress[]>;
  /** Every Service of `namespace` with a ready endpoint, and the first such address (for /etc/hosts). */
  namespaceAddresses(namespace: string): Promise<Map<string, string>>;
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

export function createServiceResolver(kc: KubeConfig, clusterDomain = 'cluster.local'): ServiceResolver {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);

  async function endpoints(name: ServiceName): Promise<{ ip: string; ports: Map<string, number> }[]> {
    const slices = await discovery.listNamespacedEndpointSlice({ namespace: name.namespace, labelSelector: `kubernetes.io/service-name=${name.service}` });
    if (slices.items.length > 0) return fromSlices(slices.items);
    try {
      const ep = await core.readNamespacedEndpoints({ name: name.service, namespace: name.namespace });
      return (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => ({
        ip: a.ip, ports: new Map((s.ports ?? []).map((p) => [p.name ?? '', p.port])),
      })));
    } catch {
      return [];
    }
  }

  return {
    async resolve(host, defaultNamespace) {
      if (isIP(host) !== 0) return [host];
      const name = parseServiceHost(host, defaultNamespace, clusterDomain);
      if (name === undefined) throw new Error(`"${host}" is not a Service name (<svc>.<ns>.svc[.${clusterDomain}])`);
      return [...new Set((await endpoints(name)).map((e) => e.ip))];
    },
    async resolveAddresses(host, port, defaultNamespace) {
      if (isIP(host) !== 0) return [{ ip: host, port }];
      const name = parseServiceHost(host, defaultNamespace, clusterDomain);
      if (name === undefined) throw new Error(`"${host}" is not a Service name (<svc>.<ns>.svc[.${clusterDomain}])`);
      let service: V1Service | undefined;
      try {
        service = await core.readNamespacedService({ name: name.service, namespace: name.namespace });
      } catch {
        return [];
      }
      const servicePort = service.spec?.ports?.find((p) => p.port === port);
      if (servicePort === undefined) return [];
      const portName = servicePort.name ?? '';
      const fallback = typeof servicePort.targetPort === 'number' ? servicePort.targetPort : port;
      const seen = new Set<string>();
      const out: ServiceAddress[] = [];
      for (const e of await endpoints(name)) {
        const target = e.ports.get(portName) ?? (e.ports.size === 1 ? [...e.ports.values()][0] : undefined) ?? fallback;
        const key = `${e.ip}:${target}`;
        if (!seen.has(key)) {
          seen.add(key);
          out.push({ ip: e.ip, port: target });
        }
      }
      return out;
    },
    async namespaceAddresses(namespace) {
      const slices = await discovery.listNamespacedEndpointSlice({ namespace });
      const byService = new Map<string, V1EndpointSlice[]>();
      for (const slice of slices.items) {
        const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
        if (service !== undefined) byService.set(service, [...(byService.get(service) ?? []), slice]);
      }
      const out = new Map<string, string>();
      for (const [service, list] of [...byService.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        const ip = fromSlices(list).map((e) => e.ip).sort()[0];
        if (ip !== undefined) out.set(service, ip);
      }
      return out;
    },
  };
}

/** An /etc/hosts like kubelet's managed one, plus Service names (we have no cluster DNS). */
export function hostsFile(podIP: string, podName: string, namespace: string, services: ReadonlyMap<string, string>, clusterDomain = 'cluster.local'): string {
  const lines = [
    '# Kubernetes-managed hosts file (pgfn node agent: Service names resolve to a ready endpoint).',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${podIP}\t${podName}`,
  ];
  for (const [service, ip] of services) {
    lines.push(`${ip}\t${service} ${service}.${namespace} ${service}.${namespace}.svc ${service}.${namespace}.svc.${clusterDomain}`);
  }
  return `${lines.join('\n')}\n`;
}

function fromSlices(slices: V1EndpointSlice[]): { ip: string; ports: Map<string, number> }[] {
  const out: { ip: string; ports: Map<string, number> }[] = [];
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const ports = new Map((slice.ports ?? []).map((p) => [p.name ?? '', p.port ?? 0]));
    for (const endpoint of slice.endpoints ?? []) {
      // Ready unknown counts as ready, as kube-proxy does.
      if (endpoint.conditions?.ready === false) continue;
      for (const ip of endpoint.addresses) out.push({ ip, ports });
    }
  }
  return out;
}
