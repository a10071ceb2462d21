// The code-cache training run's rehearsal (ADR 0152): it must run the builder through, without a
// cluster, so that the builder's code is what the cache holds.
import { expect } from 'chai';
import { rehearse } from '../../functions/reconcile/src/rehearsal.js';

describe('reconcile: the code-cache rehearsal', () => {
  it('builds and plans every object of a two-instance cluster with a user and a database, touching nothing', () => {
    // A write of each: Secrets (3), Services (2), PDBs (2), the ServiceAccount, its RoleBinding, the StatefulSet.
    expect(rehearse()).to.equal(10);
  });
});
