// npm run bench:ui [-- --clusters N --runs R]
// The UI in headless Chromium against a real control plane holding N postgresql clusters in 4
// namespaces: first paint of the list page and the time until its table shows all N rows (navigation
// start to last row, server-side listing included). Prints a table, writes bench/results/ui.json.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { ControlPlane, repoRoot } from '@pgfn/controlplane';
import { KubeClient, loadKubeConfig } from '@pgfn/kube';
import { createUiApp, readFleet } from '@pgfn/ui';
import { launchBrowser } from '../test/ui/browser.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const clusters = arg('clusters', 100);
const runs = arg('runs', 5);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const cp = await ControlPlane.start();
try {
  for (const f of readdirSync(join(repoRoot, 'crds')).filter((x) => x.endsWith('.crd.yaml'))) {
    await cp.kubectl(['apply', '--server-side', '--field-manager=pgfn', '-f', join(repoRoot, 'crds', f)]);
  }
  await cp.waitForCrds(['postgresqls.acid.zalan.do']);
  const namespaces = ['bench-a', 'bench-b', 'bench-c', 'bench-d'];
  for (const ns of namespaces) await cp.kubectl(['create', 'namespace', ns]);
  const docs = Array.from({ length: clusters }, (_, i) => ({
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name: `acid-bench-${i}`, namespace: namespaces[i % namespaces.length] },
    spec: { teamId: 'acid', numberOfInstances: 2, postgresql: { version: '17' }, volume: { size: '1Gi' } },
  }));
  await cp.kubectl(['apply', '--server-side', '--field-manager=bench', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n'));

  const kc = loadKubeConfig({ KUBECONFIG: cp.kubeconfig });
  const kube = new KubeClient(kc);
  const loadConfig = () => Promise.resolve({ config: DEFAULT_OPERATOR_CONFIG, problems: [] as string[] });
  const app = createUiApp({
    readFleet: () => readFleet({ kube, loadConfig }),
    readCluster: (namespace, name) =>
      kube.get<Postgresql & { kind: string }>({ apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', namespace, name }),
    loadConfig,
    baseConfig: kc,
    writeIdentity: { mode: 'token' },
    registry: new Registry(),
    now: () => new Date(),
    secureCookies: false,
  });
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser = await launchBrowser();
  const firstPaint: number[] = [];
  const listed: number[] = [];
  for (let r = 0; r < runs; r++) {
    const page = await browser.newPage();
    const t0 = performance.now();
    await page.goto(url);
    await page.waitForFunction(`document.querySelectorAll('#clusters tbody tr').length === ${clusters}`);
    listed.push(performance.now() - t0);
    firstPaint.push(await page.evaluate(() => performance.getEntriesByName('first-paint')[0]?.startTime ?? NaN));
    await page.close();
  }
  await browser.close();
  server.close();
  const result = {
    clusters,
    runs,
    firstPaintMs: firstPaint,
    listAllMs: listed,
    medianFirstPaintMs: median(firstPaint),
    medianListAllMs: median(listed),
  };
  console.log(`| clusters | runs | first paint (median ms) | all rows listed (median ms) |\n|---|---|---|---|`);
  console.log(`| ${clusters} | ${runs} | ${result.medianFirstPaintMs.toFixed(0)} | ${result.medianListAllMs.toFixed(0)} |`);
  mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
  writeFileSync(join(repoRoot, 'bench/results/ui.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await cp.stop();
}
