import { expect } from 'chai';
import {
  formatMaintenanceWindow,
  fromConfigMap,
  fromOperatorConfiguration,
  isInMaintenanceWindow,
  parseMaintenanceWindow,
} from '@pgfn/api';

describe('parseMaintenanceWindow', () => {
  const good: Array<[string, { everyday: boolean; weekday: number; start: string; end: string }, string]> = [
    ['01:00-06:00', { everyday: true, weekday: 0, start: '01:00', end: '06:00' }, '01:00-06:00'],
    ['Mon:01:00-06:00', { everyday: false, weekday: 1, start: '01:00', end: '06:00' }, 'Mon:01:00-06:00'],
    ['Sun:23:00-23:59', { everyday: false, weekday: 0, start: '23:00', end: '23:59' }, 'Sun:23:00-23:59'],
    ['Sat:1:05-2:30', { everyday: false, weekday: 6, start: '01:05', end: '02:30' }, 'Sat:01:05-02:30'],
    ['10:00-10:00', { everyday: true, weekday: 0, start: '10:00', end: '10:00' }, '10:00-10:00'],
  ];
  for (const [text, parsed, formatted] of good) {
    it(`reads ${JSON.stringify(text)} and writes it as ${JSON.stringify(formatted)}`, () => {
      expect(parseMaintenanceWindow(text)).to.deep.equal(parsed);
      expect(formatMaintenanceWindow(parsed)).to.equal(formatted);
    });
  }
  const bad: Array<[string, string]> = [
    ['01:00', 'is not a maintenance window'],
    ['01:00-02:00-03:00', 'is not a maintenance window'],
    ['mon:01:00-02:00', 'unknown weekday'],
    ['Monday:01:00-02:00', 'unknown weekday'],
    ['24:00-25:00', 'invalid time'],
    ['01:5-02:00', 'invalid time'],
    ['01:00-02', 'invalid time'],
    ['06:00-01:00', 'ends before it starts'],
  ];
  for (const [text, reason] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseMaintenanceWindow(text)).to.throw(reason);
    });
  }
});

describe('isInMaintenanceWindow', () => {
  const monday0300 = new Date('2026-11-23T03:00:00Z'); // a Monday
  const cases: Array<[string, Date, boolean]> = [
    ['01:00-06:00', monday0300, true],
    ['Mon:01:00-03:00', monday0300, true],
    ['Mon:03:01-04:00', monday0300, false],
    ['Tue:01:00-06:00', monday0300, false],
    ['04:00-05:00', monday0300, false],
  ];
  for (const [text, now, expected] of cases) {
    it(`${expected ? 'includes' : 'excludes'} ${now.toISOString()} for ${text}`, () => {
      expect(isInMaintenanceWindow(parseMaintenanceWindow(text), now)).to.equal(expected);
    });
  }
});

describe('maintenance_windows in the operator configuration', () => {
  it('rejects a bad window in the ConfigMap form, naming the key and the item', () => {
    const { config, errors } = fromConfigMap({ maintenance_windows: 'Mon:01:00-06:00,Funday:01:00-02:00' });
    expect(errors).to.have.length(1);
    expect(errors[0]?.message).to.include('maintenance_windows').and.include('"Funday:01:00-02:00"').and.include('unknown weekday');
    expect(config.maintenanceWindows).to.deep.equal([]);
  });

  it('rejects a bad window in the CR form by path', () => {
    const { errors } = fromOperatorConfiguration({ configuration: { maintenance_windows: ['06:00-01:00'] } });
    expect(errors.map((e) => e.key)).to.deep.equal(['configuration.maintenance_windows']);
    expect(errors[0]?.message).to.include('ends before it starts');
  });
});
