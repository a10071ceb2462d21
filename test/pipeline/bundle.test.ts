// What the image runs: bundleFunction's output for each function, and the stand-ins that keep
// rarely used packages out of a cold start (ADR 0011).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '@pgfn/controlplane';
import { bundleEntry, bundleFunction } from '@pgfn/pipeline';

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
        lazy: ['pg', 'node-fetch', 'socks-proxy-agent', 'hpagent'],
        absent: ['ObjectSerializer', 'KubernetesObjectApi', 'node_modules/tr46/'],
      },
    ],
  ];
  for (const [fn, want] of cases) {
    it(`bundles ${fn} with ${want.lazy.join(', ')} beside it, loaded on first use`, async () => {
      const { file } = await bundleFunction(fn, out);
      const text = readFileSync(file, 'utf8');
      for (const pkg of want.lazy) expect(existsSync(join(out, `${fn}.lazy`, `${pkg}.cjs`)), pkg).to.equal(true);
      for (const s of want.absent) expect(text.includes(s), s).to.equal(false);
    });
  }

  it('gives stand-ins that load late and behave like the packages (calls, new, instanceof, properties)', async () => {
    const { file } = await bundleEntry(join(repoRoot, 'test/pipeline/fixtures/lazy-packages.ts'), 'lazy-packages', out);
    const seen = JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(seen).to.deep.equal({
      beforeUse: [],
      afterUse: ['node-fetch.cjs', 'pg.cjs', 'socks-proxy-agent.cjs'],
      clientIsClient: true,
      clientHasQuery: true,
      typesParser: 'function',
      header: 'b',
      headersInstance: true,
      fetchIsFunction: true,
      agentProtocols: ['socks', 'socks4', 'socks4a', 'socks5', 'socks5h'],
      agentInstance: true,
    });
  });
});
