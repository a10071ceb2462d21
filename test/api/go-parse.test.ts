import { expect } from 'chai';
import fc from 'fast-check';
import {
  formatGoDuration,
  formatNamespacedName,
  parseGoBool,
  parseGoDuration,
  parseGoInt,
  parseGoList,
  parseGoMap,
  parseNamespacedName,
  splitMapPairs,
  type IntFormat,
} from '@pgfn/api';

const INT32: IntFormat = { bits: 32, signed: true };
const INT64: IntFormat = { bits: 64, signed: true };
const UINT32: IntFormat = { bits: 32, signed: false };

describe('parseGoBool', () => {
  const cases: Array<[string, boolean]> = [
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['t', true],
    ['T', true],
    ['1', true],
    ['false', false],
    ['False', false],
    ['FALSE', false],
    ['f', false],
    ['F', false],
    ['0', false],
  ];
  for (const [text, expected] of cases) {
    it(`reads ${JSON.stringify(text)} as ${expected}`, () => {
      expect(parseGoBool(text)).to.equal(expected);
    });
  }
  for (const text of ['yes', 'no', 'on', 'tRUE', ' true', '']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseGoBool(text)).to.throw('is not a boolean');
    });
  }
});

describe('parseGoInt', () => {
  const good: Array<[string, IntFormat, number]> = [
    ['8', UINT32, 8],
    ['-1', INT32, -1],
    ['+7', INT32, 7],
    ['0x10', INT32, 16],
    ['0X1f', INT32, 31],
    ['010', INT32, 8], // a leading zero means octal, as in Go
    ['0o17', INT32, 15],
    ['0b101', INT32, 5],
    ['1_000', INT32, 1000],
    ['0x_ff', INT32, 255],
    ['2147483647', INT32, 2147483647],
    ['-2147483648', INT32, -2147483648],
    ['4294967295', UINT32, 4294967295],
    ['1000', INT64, 1000],
  ];
  for (const [text, format, expected] of good) {
    it(`reads ${JSON.stringify(text)} (${format.signed ? '' : 'u'}int${format.bits}) as ${expected}`, () => {
      expect(parseGoInt(text, format)).to.equal(expected);
    });
  }
  const bad: Array<[string, IntFormat, string]> = [
    ['', INT32, 'is not an integer'],
    [' 8', INT32, 'is not an integer'],
    ['8 ', INT32, 'is not an integer'],
    ['1.5', INT32, 'is not an integer'],
    ['ten', INT32, 'is not an integer'],
    ['09', INT32, 'is not an integer'], // 9 is no octal digit
    ['0x', INT32, 'is not an integer'],
    ['_1', INT32, 'is not an integer'],
    ['1_', INT32, 'is not an integer'],
    ['1__0', INT32, 'is not an integer'],
    ['-1', UINT32, 'is not a non-negative integer'],
    ['+1', UINT32, 'is not a non-negative integer'],
    ['2147483648', INT32, 'out of range'],
    ['4294967296', UINT32, 'out of range'],
  ];
  for (const [text, format, message] of bad) {
    it(`rejects ${JSON.stringify(text)} for ${format.signed ? '' : 'u'}int${format.bits}`, () => {
      expect(() => parseGoInt(text, format)).to.throw(message);
    });
  }
});

describe('parseGoDuration', () => {
  const good: Array<[string, number]> = [
    ['30s', 30],
    ['10m', 600],
    ['1h30m', 5400],
    ['1h0m0s', 3600],
    ['300ms', 0.3],
    ['1.5h', 5400],
    ['-1.5h', -5400],
    ['+5s', 5],
    ['.5s', 0.5],
    ['5.s', 5],
    ['0', 0],
    ['-0', 0],
    ['1us', 0.000001],
    ['1µs', 0.000001],
    ['1μs', 0.000001],
    ['100ns', 0.0000001],
    ['2h45m30.5s', 9930.5],
  ];
  for (const [text, seconds] of good) {
    it(`reads ${JSON.stringify(text)} as ${seconds} s`, () => {
      expect(parseGoDuration(text)).to.equal(seconds);
    });
  }
  for (const text of ['', '10', '1x', '.s', '1.5.5s', '1d', 's', '1 m', '10M', '1hm', '--1s', 'constructor']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseGoDuration(text)).to.throw('is not a duration');
    });
  }
});

describe('formatGoDuration', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [30, '30s'],
    [600, '10m'],
    [5400, '1h30m'],
    [86400, '24h'],
    [1.5, '1.5s'],
    [90.25, '1m30.25s'],
    [-60, '-1m'],
  ];
  for (const [seconds, text] of cases) {
    it(`writes ${seconds} s as ${text}`, () => {
      expect(formatGoDuration(seconds)).to.equal(text);
    });
  }
  it('is read back by parseGoDuration for any millisecond amount', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), (ms) => {
        expect(parseGoDuration(formatGoDuration(ms / 1000))).to.equal(ms / 1000);
      }),
    );
  });
});

describe('parseGoList', () => {
  const cases: Array<[string, string[]]> = [
    ['admin', ['admin']],
    ['admin,cron_admin', ['admin', 'cron_admin']],
    ['a, b', ['a', ' b']], // upstream trims nothing
    ['a,', ['a', '']],
  ];
  for (const [text, expected] of cases) {
    it(`splits ${JSON.stringify(text)} on every comma`, () => {
      expect(parseGoList(text)).to.deep.equal(expected);
    });
  }
});

describe('splitMapPairs', () => {
  // The inputs of upstream's TestGetMapPairsFromString, with the results Go produces.
  const cases: Array<[string, string[]]> = [
    ["log_statement:all, work_mem:'4GB'", ['log_statement:all', "work_mem:'4GB'"]],
    [`log_statement:none, search_path:'"$user", public'`, ['log_statement:none', `search_path:'"$user", public'`]],
    ['', ['']],
    [',,log_statement:all\t,', ['', '', 'log_statement:all', '']],
    [`a:"x,'y",b:z`, [`a:"x,'y"`, 'b:z']],
  ];
  for (const [text, expected] of cases) {
    it(`splits ${JSON.stringify(text)} on commas outside quotes`, () => {
      expect(splitMapPairs(text)).to.deep.equal(expected);
    });
  }
  it('reports the position of an unmatched quote', () => {
    expect(() => splitMapPairs(`search_path:'"$user"`)).to.throw('unmatched quote starting at position 13');
  });
});

describe('parseGoMap', () => {
  const cases: Array<[string, Record<string, string>]> = [
    ['application:spilo', { application: 'spilo' }],
    ['when_deleted:retain,when_scaled:retain', { when_deleted: 'retain', when_scaled: 'retain' }],
    ["log_statement:all, work_mem:'4GB'", { log_statement: 'all', work_mem: "'4GB'" }],
    ['a:1,a:2', { a: '2' }],
    ['__proto__:x', JSON.parse('{"__proto__":"x"}') as Record<string, string>],
  ];
  for (const [text, expected] of cases) {
    it(`reads ${JSON.stringify(text)}`, () => {
      const parsed = parseGoMap(text);
      expect(parsed).to.deep.equal(expected);
      expect(Object.getPrototypeOf(parsed)).to.equal(Object.prototype);
    });
  }
  for (const text of ['a', 'a:b:c', 'a:b,', 'a:b,,c:d', "a:'b"]) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseGoMap(text)).to.throw(/invalid map item|unmatched quote/);
    });
  }
});

describe('parseNamespacedName', () => {
  const cases: Array<[string, string, { namespace: string; name: string }]> = [
    ['postgresql-operator', '', { namespace: '', name: 'postgresql-operator' }],
    ['ns/cm', '', { namespace: 'ns', name: 'cm' }],
    ['ns//cm', '', { namespace: 'ns', name: 'cm' }],
    ['cm', 'default', { namespace: 'default', name: 'cm' }],
    ['/cm', 'default', { namespace: 'default', name: 'cm' }],
    ['a/b/c', '', { namespace: 'a', name: 'b/c' }],
  ];
  for (const [text, fallback, expected] of cases) {
    it(`reads ${JSON.stringify(text)} with default namespace ${JSON.stringify(fallback)}`, () => {
      expect(parseNamespacedName(text, fallback)).to.deep.equal(expected);
    });
  }
  for (const text of ['', 'ns/', 'ns//']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseNamespacedName(text)).to.throw('is not a namespaced name');
    });
  }
  it('writes names back in the form it reads', () => {
    expect(formatNamespacedName({ namespace: 'ns', name: 'cm' })).to.equal('ns/cm');
    expect(formatNamespacedName({ namespace: '', name: 'cm' })).to.equal('cm');
  });
});
