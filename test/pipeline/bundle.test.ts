// What the image runs: bundleFunction's output for each function, and the stand-ins that keep
// rarely used packages out of a cold start (ADR 0011).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { freePort, repoRoot } from '@pgfn/controlplane';
import { bundleEntry, bundleFunction, CJS_WRAPPER, CODE_CACHE_OUT, launcherSource, REHEARSAL_EXPORT } from '@pgfn/pipeline';

describe('bundleFunction', function () {
  this.timeout(120_000);
  const out = mkdtempSync(join(tmpdir(), 'pgfn-bundle-'));

  const cases: [string, { lazy: string[]; absent: string[] }][] = [
    [
      'team-role-sync',
      {
        lazy: ['pg', 'node-fetch', 'socks-proxy-agent', 'hpagent'],
        absent: ['node_modules/express/', 'node_modules/yaml/', 'ObjectSerializer', 'KubernetesObjectApi'],
      },
    ],
    [
      'reconcile',
      {
        lazy: ['pg', 'yaml', 'node-fetch', 'socks-proxy-agent', 'hpagent'],
        absent: ['ObjectSerializer', 'KubernetesObjectApi', 'node_modules/tr46/', 'node_modules/yaml/'],
      },
    ],
  ];
  for (const [fn, want] of cases) {
    it(`bundles ${fn} with ${want.lazy.join(', ')} beside it, loaded on first use`, async () => {
      await bundleFunction(fn, out);
      const text = readFileSync(join(out, `${fn}.cjs`), 'utf8');
      for (const pkg of want.lazy) expect(existsSync(join(out, `${fn}.lazy`, `${pkg}.cjs`)), pkg).to.equal(true);
      for (const s of want.absent) expect(text.includes(s), s).to.equal(false);
    });
  }

  it('writes a code cache that plain node accepts for the bundle, and the launcher runs the bundle without one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgfn-bundle-cache-'));
    const { file } = await bundleFunction('hello-cluster', dir);
    // What the launcher compiles: the wrapped bundle, with the cache beside it (node as the image runs it, no flags).
    const check = [
      "const { readFileSync } = require('node:fs');",
      "const { Script } = require('node:vm');",
      `const source = ${JSON.stringify(CJS_WRAPPER[0])} + readFileSync(process.argv[1], 'utf8') + ${JSON.stringify(CJS_WRAPPER[1])};`,
      'const script = new Script(source, { filename: process.argv[1], cachedData: readFileSync(process.argv[2]) });',
      'console.log(JSON.stringify({ rejected: script.cachedDataRejected }));',
    ].join('\n');
    const seen = execFileSync(process.execPath, ['-e', check, join(dir, 'hello-cluster.cjs'), join(dir, 'hello-cluster.jsc')], {
      encoding: 'utf8',
    });
    expect(JSON.parse(seen)).to.deep.equal({ rejected: false });
    expect(statSync(join(dir, 'hello-cluster.jsc')).size).to.be.greaterThan(statSync(join(dir, 'hello-cluster.cjs')).size / 4);
    // Without its cache (another Node version would reject it alike) the launcher compiles the bundle and serves.
    rmSync(join(dir, 'hello-cluster.jsc'));
    expect(await healthzOf(file)).to.equal('ok');
  });

  it("has a training run call the bundle's rehearse export, and nothing else call it (ADR 0152)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgfn-rehearsal-'));
    const probe = `exports.${REHEARSAL_EXPORT} = () => require('node:fs').writeFileSync(process.env.MARK, 'rehearsed');`;
    writeFileSync(join(dir, 'probe.cjs'), probe);
    writeFileSync(join(dir, 'probe.mjs'), launcherSource('probe'));
    const start = (env: Record<string, string>, mark: string): boolean => {
      execFileSync(process.execPath, [join(dir, 'probe.mjs')], { env: { PATH: process.env['PATH'], MARK: join(dir, mark), ...env } });
      return existsSync(join(dir, mark));
    };
    expect(start({}, 'served'), 'a function started as the image starts it').to.equal(false);
    expect(start({ [CODE_CACHE_OUT]: join(dir, 'probe.jsc') }, 'trained'), 'a training run').to.equal(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives stand-ins that load late and behave like the packages (calls, new, instanceof, properties)', async () => {
    const { file } = await bundleEntry(join(repoRoot, 'test/pipeline/fixtures/lazy-packages.ts'), 'lazy-packages', out);
    const seen = JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(seen).to.deep.equal({
      beforeUse: [],
      afterUse: ['node-fetch.cjs', 'pg.cjs', 'socks-proxy-agent.cjs', 'yaml.cjs'],
      clientIsClient: true,
      clientHasQuery: true,
      typesParser: 'function',
      header: 'b',
      headersInstance: true,
      fetchIsFunction: true,
      agentProtocols: ['socks', 'socks4', 'socks4a', 'socks5', 'socks5h'],
      agentInstance: true,
      yamlParsed: { a: 1, b: ['x', 'y'] },
      yamlDocuments: [true, true],
    });
  });
});

/** Starts `launcher` as a function (its API server unreachable: /healthz needs none) and reads its /healthz. */
async function healthzOf(launcher: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pgfn-launch-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\n' +
      'users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n',
  );
  const port = await freePort();
  const child = spawn(process.execPath, [launcher], {
    env: { PATH: process.env['PATH'], PORT: String(port), HOST: '127.0.0.1', KUBECONFIG: kubeconfig, LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${launcher} exited with ${child.exitCode}`);
      const text = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.text(),
        () => undefined,
      );
      if (text !== undefined) return text;
      if (Date.now() > deadline) throw new Error(`${launcher} did not listen within 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill('SIGKILL');
  }
}
