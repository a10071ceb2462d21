// Several local nodes (issue 24, ADR 0075): one node agent per Node, all in this process. Each Node has
// its own loopback /24, zone and hostname labels, capacity and data directory, so the scheduler spreads
// real Spilo pods across them and cordon, taints and node deletion act on where pods really run.
import { join } from 'node:path';
import { startNodeAgent, type NodeAgent, type NodeAgentOptions } from './agent.js';

/** The well-known zone label the scheduler's topology spread and upstream's anti-affinity key use. */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const REGION_LABEL = 'topology.kubernetes.io/region';
export const LOCAL_REGION = 'pgfn-local';

export interface LocalNodeLayout {
  /** How many Nodes (1–100). */
  readonly count: number;
  /** How many zones they are spread over, round robin (default: one per node, at most 3). */
  readonly zones?: number;
  /** Node names are `<prefix>-<i>` (default `pgfn-agent`). */
  readonly namePrefix?: string;
  /** Third octet of the first node's /24 (default 10: 127.0.10.0/24, 127.0.11.0/24, …). */
  readonly firstOctet?: number;
}

export interface LocalNodeSpec {
  readonly nodeName: string;
  readonly ipRange: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Zone names: pgfn-zone-a, pgfn-zone-b, … */
export function zoneName(index: number): string {
  return `pgfn-zone-${String.fromCharCode(97 + (index % 26))}`;
}

/** The Nodes of a layout: names, address ranges and topology labels (a pure builder). */
export function localNodeSpecs(layout: LocalNodeLayout): LocalNodeSpec[] {
  const { count, namePrefix = 'pgfn-agent', firstOctet = 10 } = layout;
  const zones = layout.zones ?? Math.min(count, 3);
  if (!Number.isInteger(count) || count < 1 || count > 100) throw new Error(`nodes: ${count} is not a count between 1 and 100`);
  if (!Number.isInteger(zones) || zones < 1 || zones > count) throw new Error(`zones: ${zones} must be between 1 and the node count`);
  if (firstOctet < 2 || firstOctet + count > 255) throw new Error(`firstOctet ${firstOctet}: the /24s would leave 127.0.0.0/8`);
  return Array.from({ length: count }, (_, i) => {
    const zone = zoneName(i % zones);
    return {
      nodeName: `${namePrefix}-${i}`,
      ipRange: `127.0.${firstOctet + i}.0/24`,
      zone,
      labels: { [ZONE_LABEL]: zone, [REGION_LABEL]: LOCAL_REGION },
    };
  });
}

export type LocalNodesOptions = Omit<NodeAgentOptions, 'nodeName' | 'ipRange' | 'stateDir'> & LocalNodeLayout;

export interface LocalNodes {
  readonly agents: readonly NodeAgent[];
  /** The agent serving `nodeName`. */
  agent(nodeName: string): NodeAgent;
  stop(): Promise<void>;
}

/**
 * Starts one agent per Node of the layout; each keeps its data and state under <dataDir>/<node> and
 * its logs under <logDir>/<node>. Only the first serves claims without a storage class (they bind at
 * once and would pin every pod to whichever node won): give clusters the agents' class to spread them.
 */
export async function startLocalNodes(options: LocalNodesOptions): Promise<LocalNodes> {
  const { count, zones, namePrefix, firstOctet, ...common } = options;
  const specs = localNodeSpecs({
    count,
    ...(zones === undefined ? {} : { zones }),
    ...(namePrefix === undefined ? {} : { namePrefix }),
    ...(firstOctet === undefined ? {} : { firstOctet }),
  });
  const agents: NodeAgent[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.stop()));
  };
  try {
    for (const [i, spec] of specs.entries()) {
      agents.push(
        await startNodeAgent({
          ...common,
          nodeName: spec.nodeName,
          ipRange: spec.ipRange,
          labels: { ...spec.labels, ...(common.labels ?? {}) },
          dataDir: count === 1 ? common.dataDir : join(common.dataDir, spec.nodeName),
          logDir: count === 1 ? common.logDir : join(common.logDir, spec.nodeName),
          serveClaimsWithoutClass: i === 0,
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    agents,
    agent: (nodeName) => {
      const found = agents.find((a) => a.nodeName === nodeName);
      if (found === undefined) throw new Error(`no local node ${nodeName}`);
      return found;
    },
    stop,
  };
}
