// Functions as processes started by their first event and stopped when idle, through the local pipeline
// (broker + our Triggers), with a stand-in function built on the real runtime (fixtures/echo-fn.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '@pgfn/controlplane';
import { startPipeline, type Pipeline } from '@pgfn/pipeline';

const ECHO = join(repoRoot, 'test/pipeline/fixtures/echo-fn.ts');

interface Logged {
  pid: number;
  env: Record<string, string>;
  event: Record<string, unknown>;
}
const logged = (file: string): Logged[] => {
  try {
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Logged);
  } catch {
    return [];
  }
};

const pgEvent = (id: string, extra: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-source': 'test',
    'ce-type': 'dev.knative.apiserver.resource.update',
    'ce-kind': 'postgresql',
    'ce-name': 'acid-a',
    'ce-namespace': 'ns',
    'content-type': 'application/json',
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`ce-${k}`, v])),
  },
  body: JSON.stringify({ kind: 'postgresql', metadata: { name: 'acid-a', namespace: 'ns' } }),
});

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('startPipeline: functions started on demand and scaled to zero', function () {
  this.timeout(60_000);
  let dir: string;
  let pipeline: Pipeline;
  let echoLog: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgfn-pipeline-'));
    echoLog = join(dir, 'echo.jsonl');
    pipeline = await startPipeline({
      kubeconfig: '/dev/null',
      logDir: dir,
      sources: false,
      schedulePings: false,
      idleMs: 1500,
      // the shipped reconcile Service and Trigger, served by the stand-in function
      functions: { reconcile: { args: ['--import', 'tsx', ECHO], env: { ECHO_LOG: echoLog } } },
    });
  });
  after(async () => {
    await pipeline.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes with the shipped Triggers and leaves out those whose function is not running locally', () => {
    expect(pipeline.broker.triggerNames).to.deep.equal(['pgfn-reconcile']);
    expect(pipeline.broker.skipped.join('\n')).to.match(
      /pgfn-team-role-sync: subscriber Service pgfn-team-role-sync is not available locally/,
    );
  });

  it('starts the function on its first event and records the cold start', async () => {
    expect(pipeline.supervisor.isRunning('reconcile')).to.equal(false);
    expect((await fetch(pipeline.brokerUrl, pgEvent('cold-1'))).status).to.equal(202);
    const [first] = await until('the event at the function', () => (logged(echoLog).length > 0 ? logged(echoLog) : undefined));
    expect(first?.event['id']).to.equal('cold-1');
    expect(first?.event['kind']).to.equal('postgresql');
    // the Service's literal env and the SinkBinding's K_SINK reach the process, as in the cluster
    expect(first?.env).to.deep.equal({ OPERATOR_NAMESPACE: 'pgfn-system', K_SINK: pipeline.brokerUrl });
    await pipeline.broker.idle();
    const [cold] = pipeline.supervisor.coldStarts('reconcile');
    expect(cold?.pid).to.equal(first?.pid);
    expect(cold?.spawnToReadyMs).to.be.greaterThan(0);
    // ready comes before the first answer (how long each takes is a bench figure: bench/functions.ts)
    expect(cold?.spawnToFirstResponseMs).to.be.greaterThan(cold?.spawnToReadyMs ?? 0);
  });

  it('reuses the warm instance while events keep coming', async () => {
    const pid = pipeline.supervisor.pid('reconcile');
    await fetch(pipeline.brokerUrl, pgEvent('warm-1'));
    await pipeline.broker.idle();
    expect(logged(echoLog).at(-1)).to.deep.include({ pid });
    expect(pipeline.supervisor.coldStarts('reconcile')).to.have.length(1);
  });

  it("redelivers a 503 to the same warm instance after the shipped Trigger's backoff", async () => {
    const pid = pipeline.supervisor.pid('reconcile');
    await fetch(pipeline.brokerUrl, pgEvent('retry-1', { pgfntest: 'retry-once' }));
    await pipeline.broker.idle();
    const record = pipeline.broker.deliveries().find((d) => d.id === 'retry-1');
    expect(record?.attempts.map((a) => a.status)).to.deep.equal([503, 200]);
    expect(
      logged(echoLog)
        .filter((l) => l.event['id'] === 'retry-1')
        .map((l) => l.pid),
    ).to.deep.equal([pid, pid]);
  });

  it('stops the function after the idle period and cold-starts it again on the next event', async () => {
    const before = pipeline.supervisor.pid('reconcile');
    const coldStarts = pipeline.supervisor.coldStarts('reconcile').length;
    await until('scale to zero', () => (pipeline.supervisor.isRunning('reconcile') ? undefined : true));
    await fetch(pipeline.brokerUrl, pgEvent('cold-2'));
    await pipeline.broker.idle();
    const last = logged(echoLog).at(-1);
    expect(last?.event['id']).to.equal('cold-2');
    expect(last?.pid).to.not.equal(before);
    expect(pipeline.supervisor.coldStarts('reconcile')).to.have.length(coldStarts + 1);
  });

  it('restarts a function that crashed, on the retry of the event that found it dead', async () => {
    const pid = pipeline.supervisor.pid('reconcile');
    if (pid === undefined) throw new Error('reconcile should be running');
    process.kill(pid, 'SIGKILL');
    await until('the crash noticed', () => (pipeline.supervisor.isRunning('reconcile') ? undefined : true));
    await fetch(pipeline.brokerUrl, pgEvent('after-crash'));
    await pipeline.broker.idle();
    expect(logged(echoLog).at(-1)?.event['id']).to.equal('after-crash');
    expect(pipeline.broker.deliveries().find((d) => d.id === 'after-crash')?.outcome).to.equal('delivered');
  });

  it('fires the shipped resync PingSource on demand into the reconcile function', async () => {
    const ping = pipeline.pings.fire('pgfn-resync');
    await pipeline.broker.idle();
    const got = logged(echoLog).at(-1)?.event;
    expect(got).to.include({
      type: 'dev.knative.sources.ping',
      source: '/apis/v1/namespaces/pgfn-system/pingsources/pgfn-resync',
      id: ping.attributes['id'],
    });
    expect(got?.['data']).to.deep.equal({ task: 'resync' });
  });
});
