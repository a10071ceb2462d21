// One TLS SecureContext per set of credentials (ADR 0118): the test control plane's admin kubeconfig,
// whose CA, client certificate and key client-node reads afresh for every request.
import type { RequestOptions } from 'node:https';
import { expect } from 'chai';
import { SecureContexts } from '@pgfn/kube';
import { adminConfig } from '../support/kube.js';

async function optionsOfKubeconfig(): Promise<RequestOptions> {
  const opts: RequestOptions = {};
  await adminConfig().applyToHTTPSOptions(opts);
  return opts;
}

describe('SecureContexts', () => {
  it('gives the same context while the credentials keep their bytes, a new one when they change', async () => {
    const contexts = new SecureContexts();
    const first = await optionsOfKubeconfig();
    const again = await optionsOfKubeconfig();
    expect(first.cert, 'the kubeconfig has a client certificate').to.not.equal(undefined);
    expect(again.ca).to.not.equal(first.ca); // read again: other objects, the same bytes
    const context = contexts.contextFor(first);
    expect(contexts.contextFor(again)).to.equal(context);
    const caOnly = contexts.contextFor({ ca: again.ca });
    expect(caOnly).to.not.equal(context);
    expect(contexts.contextFor({ ca: again.ca })).to.equal(caOnly);
    expect(contexts.contextFor(again)).to.not.equal(caOnly);
  });
});
