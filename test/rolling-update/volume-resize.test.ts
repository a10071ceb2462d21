import { expect } from 'chai';
import { planVolumeResize, type ResizeInput } from '../../functions/rolling-update/src/volume-resize.js';

const input = (mode: string, size: string, more: Partial<ResizeInput> = {}): ResizeInput => ({
  mode,
  volume: { size },
  claims: [
    { name: 'pgdata-c-0', requested: '1Gi', storageClass: 'local' },
    { name: 'pgdata-c-1', requested: '1Gi', storageClass: 'local' },
  ],
  expandable: new Map([['local', true]]),
  ...more,
});

describe('planVolumeResize', () => {
  it('grows every smaller claim in pvc mode (exact quantities, 1Gi → 1536Mi counts)', () => {
    expect(planVolumeResize(input('pvc', '1536Mi'))).to.deep.equal({
      grow: [
        { claim: 'pgdata-c-0', from: '1Gi', size: '1536Mi' },
        { claim: 'pgdata-c-1', from: '1Gi', size: '1536Mi' },
      ],
      problems: [],
    });
  });

  it('refuses to shrink, with a message naming the claim and both sizes', () => {
    const plan = planVolumeResize(input('pvc', '512Mi'));
    expect(plan.grow).to.deep.equal([]);
    expect(plan.problems[0]).to.equal(
      'cannot shrink volume pgdata-c-0 from 1Gi to 512Mi: Kubernetes never shrinks a PersistentVolumeClaim',
    );
  });

  it('does nothing when the sizes match, whatever the mode', () => {
    for (const mode of ['pvc', 'off', 'ebs', 'mixed'])
      expect(planVolumeResize(input(mode, '1024Mi'))).to.deep.equal({ grow: [], problems: [] });
  });

  it('says why in off and ebs modes, and grows claims in mixed mode while reporting the EBS part', () => {
    expect(planVolumeResize(input('off', '2Gi')).problems).to.deep.equal([
      'storage_resize_mode is off: pgdata-c-0, pgdata-c-1 stay below 2Gi',
    ]);
    const ebs = planVolumeResize(input('ebs', '2Gi'));
    expect(ebs.grow).to.deep.equal([]);
    expect(ebs.problems[0]).to.match(/AWS EC2 API, which cannot run here/);
    const mixed = planVolumeResize(input('mixed', '2Gi', { volume: { size: '2Gi', iops: 4000 } }));
    expect(mixed.grow.map((g) => g.claim)).to.deep.equal(['pgdata-c-0', 'pgdata-c-1']);
    expect(mixed.problems[0]).to.match(/type, iops and throughput/);
  });

  it('does not grow a claim whose StorageClass does not allow expansion', () => {
    const plan = planVolumeResize(input('pvc', '2Gi', { expandable: new Map([['local', false]]) }));
    expect(plan.grow).to.deep.equal([]);
    expect(plan.problems[0]).to.match(/allowVolumeExpansion/);
  });
});
