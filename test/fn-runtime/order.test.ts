import { expect } from 'chai';
import { byCodeUnit } from '@pgfn/fn-runtime';

describe('byCodeUnit', () => {
  it('orders Kubernetes names as localeCompare does, digits and hyphens included', () => {
    const names = ['acid-b-10', 'acid-b-2', 'acid-a-1', 'acid-b-1', 'acid-a.x', 'acid-a-0', 'acid0', 'b', 'a-1'];
    expect([...names].sort(byCodeUnit)).to.deep.equal([...names].sort((a, b) => a.localeCompare(b)));
  });

  it('is a total order: equal strings compare 0, the rest by code unit', () => {
    expect(byCodeUnit('Synced', 'Synced')).to.equal(0);
    expect(byCodeUnit('RolesSynced', 'Synced')).to.equal(-1);
    expect(byCodeUnit('Valid', 'Synced')).to.equal(1);
    // unlike localeCompare, upper case sorts before lower case
    expect(byCodeUnit('Z', 'a')).to.equal(-1);
  });
});
