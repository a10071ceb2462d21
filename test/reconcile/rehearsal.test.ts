// The code-cache training run's rehearsal (ADR 0152): it must run the builder through, without a
// cluster, so that the builder's code is what the cache holds.
import { expect } from 'chai';
import { rehearse } from '../../functions/reconcile/src/rehearsal.js';

describe('reconcile: the code-cache rehearsal', () => {
  it('builds every object of a two-instance cluster with a user and a database, touching nothing', () => {
    // Secrets (3), Services (2), Endpoints, PDBs (2), the StatefulSet and more: whatever a first event writes.
    expect(rehearse()).to.be.greaterThan(8);
  });
});
