// V8's code cache of a function's bundle, made at build time (ADR 0117): a training run of the launcher
// starts the function, lets it answer one event and writes the code of every function V8 compiled on
// the way. The API server it is given does not exist (nothing here can reach a cluster, nothing is
// written anywhere), so the event's answer is a failure: what gets compiled is everything up to the
// first request to the API server — loading the bundle, listening, receiving and decoding the event —
// plus what the function's `rehearse()` export runs of the pure work past it (ADR 0152).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@pgfn/controlplane';
import { CODE_CACHE_OUT, FUNCTION_NODE_ARGS } from './launcher.js';

/** What the training run sends: an ApiServerSource "add" of a postgresql, the event a cold start is most often for. */
const TRAINING_EVENT = {
  headers: {
    'ce-specversion': '1.0',
    'ce-id': 'code-cache-training',
    'ce-source': 'https://127.0.0.1/apis/v1',
    'ce-type': 'dev.knative.apiserver.resource.add',
    'ce-subject': '/apis/acid.zalan.do/v1/namespaces/default/postgresqls/acid-training',
    'ce-kind': 'postgresql',
    'ce-name': 'acid-training',
    'ce-namespace': 'default',
    'ce-apiversion': 'acid.zalan.do/v1',
    'content-type': 'application/json',
  },
  body: JSON.stringify({
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name: 'acid-training', namespace: 'default' },
    spec: { teamId: 'acid', numberOfInstances: 2, volume: { size: '1Gi' }, postgresql: { version: '17' } },
  }),
};

/** A kubeconfig naming an API server on a port nothing listens on (port 1 is refused at once). */
const UNREACHABLE_KUBECONFIG = [
  'apiVersion: v1',
  'kind: Config',
  'clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]',
  'users: [{name: none, user: {token: none}}]',
  'contexts: [{name: none, context: {cluster: none, user: none}}]',
  'current-context: none',
  '',
].join('\n');

const TIMEOUT_MS = 60_000;

/** Runs `launcher` once as the function it starts and writes V8's code cache of its bundle to `cacheFile`. */
export async function writeCodeCache(launcher: string, cacheFile: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pgfn-code-cache-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, UNREACHABLE_KUBECONFIG);
  rmSync(cacheFile, { force: true });
  const port = await freePort();
  const output: Buffer[] = [];
  // With the flags the image starts functions with: V8 rejects a cache made under other V8 flags.
  const child = spawn(process.execPath, [...FUNCTION_NODE_ARGS, launcher], {
    env: {
      PATH: process.env['PATH'],
      PORT: String(port),
      HOST: '127.0.0.1',
      KUBECONFIG: kubeconfig,
      LOG_LEVEL: 'silent',
      [CODE_CACHE_OUT]: cacheFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (b: Buffer) => output.push(b));
  child.stderr.on('data', (b: Buffer) => output.push(b));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const failed = (what: string): Error =>
    new Error(`code cache of ${launcher}: ${what}\n${Buffer.concat(output).toString('utf8').slice(-2000)}`);
  try {
    const url = `http://127.0.0.1:${port}/`;
    await untilListening(`${url}healthz`, exited, failed);
    // Any answer will do (the API server is unreachable); what matters is the code that ran to give it.
    await fetch(url, { method: 'POST', ...TRAINING_EVENT, signal: AbortSignal.timeout(TIMEOUT_MS) }).then((r) => r.arrayBuffer());
    child.kill('SIGTERM');
    if ((await exited) !== 0 || !existsSync(cacheFile)) throw failed('the training run wrote no cache');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function untilListening(url: string, exited: Promise<number | null>, failed: (what: string) => Error): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    if (gone) throw failed('the training run exited before listening');
    if (Date.now() > deadline) throw failed(`the training run did not listen within ${TIMEOUT_MS} ms`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}
