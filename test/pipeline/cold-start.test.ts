// Cold starts of the real reconcile function through the local pipeline, running as its own
// ServiceAccount: bundled and started the way the image does it (node --use-openssl-ca, one .mjs), and as `npm run fn` runs
// it (node --import tsx). Each start is a new process that answers one event. How long a start takes
// is a bench figure (bench/functions.ts), not asserted here.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { bundleFunction, FUNCTION_NODE_ARGS, FUNCTION_TRUST_ENV, startPipeline, type FunctionProcessSpec } from '@pgfn/pipeline';
import { ensureCrds } from '../crds/install.js';
import { testEnv } from '../support/env.js';
import { identityForFunction } from '../support/fn-identity.js';
import { adminConfig } from '../support/kube.js';

const RUNS = 3;

/** RUNS cold starts, one event each; the broker's delivery statuses. */
async function coldStarts(kubeconfig: string, spec: FunctionProcessSpec): Promise<number[]> {
  const pipeline = await startPipeline({
    kubeconfig,
    logDir: mkdtempSync(join(testEnv().dir, 'pipeline-')),
    sources: false,
    schedulePings: false,
    functions: { reconcile: spec },
  });
  try {
    for (let i = 0; i < RUNS; i++) {
      const res = await fetch(pipeline.brokerUrl, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': `cold-${i}`,
          'ce-source': 'test',
          'ce-type': 'dev.pgfn.reconcile.requested',
          'ce-subject': 'default/acid-absent',
          'content-type': 'application/json',
        },
        body: '{}',
      });
      expect(res.status).to.equal(202);
      await pipeline.broker.idle();
      await pipeline.supervisor.stopFunction('reconcile');
    }
    expect(pipeline.supervisor.coldStarts('reconcile')).to.have.length(RUNS);
    return pipeline.broker.deliveries().flatMap((d) => d.attempts.map((a) => a.status ?? -1));
  } finally {
    await pipeline.stop();
  }
}

describe('reconcile cold start through the pipeline (as its own ServiceAccount)', function () {
  this.timeout(240_000);
  let kubeconfig: string;
  before(async () => {
    await ensureCrds(adminConfig());
    kubeconfig = (await identityForFunction('reconcile')).file;
  });

  it('bundled as in the image: spawn → first event answered', async () => {
    const { file } = await bundleFunction('reconcile', mkdtempSync(join(testEnv().dir, 'bundle-')));
    // as the image's ENTRYPOINT starts it: trusting the certificate directory, the kubeconfig's CA for the API server (ADR 0143)
    const statuses = await coldStarts(kubeconfig, {
      command: process.execPath,
      args: [...FUNCTION_NODE_ARGS, file],
      env: FUNCTION_TRUST_ENV,
    });
    // a request for a cluster that does not exist is answered 200 ("gone"), on the first attempt
    expect(statuses).to.deep.equal(Array(RUNS).fill(200));
  });

  it('from source with tsx (npm run fn): spawn → first event answered', async () => {
    expect(await coldStarts(kubeconfig, {})).to.deep.equal(Array(RUNS).fill(200));
  });
});
