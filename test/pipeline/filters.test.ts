import { expect } from 'chai';
import { evaluateTrigger, validateTriggerFilters, type TriggerFilterSpec } from '@pgfn/pipeline';

const pgAdd = {
  specversion: '1.0',
  id: '1',
  source: 'https://10.0.0.1:443',
  type: 'dev.knative.apiserver.resource.add',
  kind: 'postgresql',
  name: 'acid-a',
  namespace: 'team-a',
  subject: '',
};

describe('Trigger filters (Knative semantics)', () => {
  describe('the legacy attributes dialect', () => {
    const cases: [string, Record<string, string>, string][] = [
      ['passes when every attribute is equal', { type: 'dev.knative.apiserver.resource.add', kind: 'postgresql' }, 'pass'],
      ['fails on one differing value', { type: 'dev.knative.apiserver.resource.add', kind: 'Pod' }, 'fail'],
      ['is case-sensitive', { kind: 'Postgresql' }, 'fail'],
      ['fails when the event lacks the extension', { team: 'x' }, 'fail'],
      ['treats "" as "present and not empty"', { kind: '' }, 'pass'],
      ['fails "" on an attribute the event has but left empty', { subject: '' }, 'fail'],
      ['passes an empty attribute map', {}, 'pass'],
    ];
    for (const [what, attributes, want] of cases) {
      it(what, () => expect(evaluateTrigger({ filter: { attributes } }, pgAdd)).to.equal(want));
    }
  });

  describe('the Subscriptions API dialect', () => {
    const cases: [string, TriggerFilterSpec, string][] = [
      ['exact passes on equality', { filters: [{ exact: { kind: 'postgresql' } }] }, 'pass'],
      ['exact fails on a missing attribute', { filters: [{ exact: { team: 'a' } }] }, 'fail'],
      ['prefix matches the start of the type', { filters: [{ prefix: { type: 'dev.knative.apiserver.resource.' } }] }, 'pass'],
      ['prefix does not match in the middle', { filters: [{ prefix: { type: 'knative' } }] }, 'fail'],
      ['suffix matches the end', { filters: [{ suffix: { type: '.add' } }] }, 'pass'],
      ['a list is an implicit all', { filters: [{ exact: { kind: 'postgresql' } }, { exact: { namespace: 'team-b' } }] }, 'fail'],
      ['any passes when one passes', { filters: [{ any: [{ exact: { kind: 'Pod' } }, { exact: { kind: 'postgresql' } }] }] }, 'pass'],
      ['any fails when none passes', { filters: [{ any: [{ exact: { kind: 'Pod' } }, { exact: { kind: 'StatefulSet' } }] }] }, 'fail'],
      ['not inverts', { filters: [{ not: { exact: { kind: 'postgresql' } } }] }, 'fail'],
      [
        'nested all inside any',
        {
          filters: [
            { any: [{ all: [{ prefix: { type: 'dev.knative.' } }, { exact: { kind: 'postgresql' } }] }, { exact: { type: 'x' } }] },
          ],
        },
        'pass',
      ],
      ['filters win over filter', { filter: { attributes: { kind: 'Pod' } }, filters: [{ exact: { kind: 'postgresql' } }] }, 'pass'],
      ['no filter at all lets everything through (NoFilter)', {}, 'none'],
      ['an empty all is NoFilter', { filters: [{ all: [] }] }, 'none'],
      ['an exact filter with an empty value is dropped, as Knative cannot build it', { filters: [{ exact: { kind: '' } }] }, 'none'],
    ];
    for (const [what, spec, want] of cases) {
      it(what, () => expect(evaluateTrigger(spec, pgAdd)).to.equal(want));
    }
  });

  describe('validateTriggerFilters', () => {
    it('accepts lowercase alphanumeric attribute names', () => {
      expect(validateTriggerFilters({ filters: [{ exact: { apiversion: 'v1' } }], filter: { attributes: { kind: 'Pod' } } })).to.deep.equal(
        [],
      );
    });
    it('refuses two dialects in one filter, with the field path', () => {
      expect(validateTriggerFilters({ filters: [{ exact: { kind: 'a' }, prefix: { type: 'b' } }] })).to.deep.equal([
        'spec.filters[0]: only one dialect per filter, found exact, prefix',
      ]);
    });
    it('refuses attribute names Knative refuses', () => {
      expect(validateTriggerFilters({ filters: [{ any: [{ exact: { Kind: 'a' } }] }] })[0]).to.match(
        /spec\.filters\[0\]\.any\[0\]\.exact\.Kind: attribute names/,
      );
      expect(validateTriggerFilters({ filter: { attributes: { 'my-ext': 'a' } } })[0]).to.match(/spec\.filter\.attributes\.my-ext/);
    });
    it('refuses empty values, which Knative would silently drop', () => {
      expect(validateTriggerFilters({ filters: [{ prefix: { type: '' } }] })).to.deep.equal([
        'spec.filters[0].prefix.type: the value must not be empty',
      ]);
    });
    it('refuses CESQL, which the local broker does not implement', () => {
      expect(validateTriggerFilters({ filters: [{ cesql: "type = 'x'" }] })[0]).to.match(/CESQL is not supported/);
    });
  });
});
