import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { startLocalNodes, startNodeAgent, type LocalNodes, type NodeAgent } from '@pgfn/node-agent';
import { clusterMembers, type MemberView } from '@pgfn/node-agent/testing';
import pg from 'pg';
import { testEnv } from '../support/env.js';
import { eventually } from '../support/kube.js';
import { keepLogsOnFailure } from '../support/failure-logs.js';
import { claimLoopbackRanges } from '../support/loopback-ranges.js';

export interface TestAgent {
  readonly agent: NodeAgent;
  readonly dataDir: string;
  readonly logDir: string;
  stop(): Promise<void>;
}

/** A node agent on the shared control plane, with its own loopback range and fast probes. */
export async function startTestAgent(nodeName = 'pgfn-agent-test'): Promise<TestAgent> {
  const root = mkdtempSync(join(tmpdir(), 'pgfn-agent-test-'));
  const dataDir = join(root, 'data');
  const logDir = join(root, 'logs');
  // A loopback /24 no other agent on this machine has (a local stack keeps 127.0.10.0/24).
  const loopback = claimLoopbackRanges();
  let agent: NodeAgent;
  try {
    agent = await startNodeAgent({
      kubeconfig: testEnv().kubeconfig,
      nodeName,
      ipRange: loopback.ranges[0] ?? '',
      dataDir,
      logDir,
      probePeriodCapSeconds: 2,
      stopGraceMs: 10_000,
    });
  } catch (err) {
    loopback.release();
    throw err;
  }
  const forgetLogs = keepLogsOnFailure(`node agent ${nodeName}`, logDir, () => agent.processGroups());
  return {
    agent,
    dataDir,
    logDir,
    stop: async () => {
      forgetLogs();
      await agent.stop();
      loopback.release();
      if (process.env['PGFN_KEEP_AGENT_DIRS'] !== '1') rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface ConnectOptions {
  readonly user?: string;
  readonly port?: number;
  readonly database?: string;
}

/** A TLS connection (unverified, as Spilo's self-signed certificate), as `postgres` to `postgres` on 5432 unless told. */
export async function connect(host: string, password: string, options: ConnectOptions = {}): Promise<pg.Client> {
  const { user = 'postgres', port = 5432, database = 'postgres' } = options;
  const client = new pg.Client({ host, port, user, password, database, ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export interface Roles {
  readonly master: MemberView;
  readonly replicas: MemberView[];
}

export interface RolesWanted {
  readonly replicas: number;
  readonly timeoutMs?: number;
  /** A master other than this pod (after a failover). */
  readonly not?: string;
}

/** Waits until Patroni labelled one master and `replicas` replicas, all Ready (180 s unless told). */
export async function waitForRoles(kc: KubeConfig, namespace: string, cluster: string, wanted: number | RolesWanted): Promise<Roles> {
  const { replicas, timeoutMs = 180_000, not } = typeof wanted === 'number' ? { replicas: wanted } : wanted;
  return eventually(
    `${cluster}: one master${not === undefined ? '' : ` other than ${not}`} and ${replicas} ready replicas`,
    async () => {
      const members = await clusterMembers(kc, namespace, cluster);
      const masters = members.filter((m) => m.role === 'master' && m.ready);
      const ready = members.filter((m) => m.role === 'replica' && m.ready);
      const master = masters[0];
      if (masters.length !== 1 || master === undefined || ready.length !== replicas || master.name === not) return undefined;
      return { master, replicas: ready };
    },
    timeoutMs,
    500,
  );
}

/**
 * A sandbox's PID namespace and the process that is its init. The kernel reuses a destroyed namespace's
 * identity (its nsfs inode) for the next one made, which may be another worker's sandbox (ADR 0145), so
 * the namespace alone cannot tell whether a sandbox is gone; its init, by pid and start time, can.
 */
export interface Sandbox {
  readonly namespace: string;
  readonly initPid: number;
  readonly initStart: string;
}

/** Start time of a process (field 22 of /proc/<pid>/stat, clock ticks since boot); undefined once it is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) in parentheses: state is field 3, start time 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The sandboxes behind the agent's process groups. */
export function sandboxesOf(groups: readonly number[]): Sandbox[] {
  const out: Sandbox[] = [];
  for (const pgid of groups) {
    try {
      const init = Number(readFileSync(`/proc/${pgid}/task/${pgid}/children`, 'utf8').trim().split(/\s+/)[0]);
      const initStart = startTime(init);
      if (init > 0 && initStart !== undefined) out.push({ namespace: readlinkSync(`/proc/${init}/ns/pid`), initPid: init, initStart });
    } catch {
      // Already gone.
    }
  }
  return out;
}

/** PID-namespace identities of the sandboxes behind the agent's process groups. */
export function sandboxNamespaces(groups: readonly number[]): string[] {
  return sandboxesOf(groups).map((s) => s.namespace);
}

/**
 * Processes (pid and command) still living in the given sandboxes. A sandbox whose init is gone has
 * nothing left (the kernel kills a PID namespace's processes with its init), whatever now carries its
 * namespace's identity.
 */
export function processesLeftIn(sandboxes: readonly Sandbox[]): string[] {
  const alive = sandboxes.filter((s) => startTime(s.initPid) === s.initStart);
  return processesIn(alive.map((s) => s.namespace));
}

/** Processes (pid and command) living in any of the given PID namespaces now. */
function processesIn(namespaces: readonly string[]): string[] {
  const wanted = new Set(namespaces);
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (wanted.has(readlinkSync(`/proc/${pid}/ns/pid`)))
        out.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    } catch {
      // Exited meanwhile.
    }
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface TestNodes {
  readonly nodes: LocalNodes;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Several node agents (one Node each, zones round robin) on the shared control plane, fast probes. */
export async function startTestNodes(layout: { count: number; zones?: number; namePrefix?: string }): Promise<TestNodes> {
  const root = mkdtempSync(join(tmpdir(), 'pgfn-nodes-test-'));
  const dataDir = join(root, 'data');
  // Consecutive loopback /24s no other agent on this machine has (a local stack keeps 127.0.10.0/24 …).
  const loopback = claimLoopbackRanges({ count: layout.count });
  const logDir = join(root, 'logs');
  let nodes: LocalNodes;
  try {
    nodes = await startLocalNodes({
      ...layout,
      firstOctet: loopback.firstOctet,
      kubeconfig: testEnv().kubeconfig,
      dataDir,
      logDir,
      probePeriodCapSeconds: 2,
      stopGraceMs: 10_000,
    });
  } catch (err) {
    loopback.release();
    throw err;
  }
  const forgetLogs = keepLogsOnFailure('node agents', logDir, () => nodes.agents.flatMap((a) => a.processGroups()));
  return {
    nodes,
    dataDir,
    stop: async () => {
      forgetLogs();
      await nodes.stop();
      loopback.release();
      if (process.env['PGFN_KEEP_AGENT_DIRS'] !== '1') rmSync(root, { recursive: true, force: true });
    },
  };
}
