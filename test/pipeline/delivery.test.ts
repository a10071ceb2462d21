import { expect } from 'chai';
import { isRetryable, parseCron, parseIsoDuration, retryPolicy, waitBeforeRetry } from '@pgfn/pipeline';

describe('delivery spec (Knative retry semantics)', () => {
  describe('parseIsoDuration', () => {
    const cases: [string, number][] = [
      ['PT0.5S', 500],
      ['PT1S', 1000],
      ['PT1M30S', 90_000],
      ['PT2H', 7_200_000],
      ['P1D', 86_400_000],
      ['PT0,25S', 250],
      ['P1DT1S', 86_401_000],
    ];
    for (const [text, ms] of cases) it(`reads ${text} as ${ms} ms`, () => expect(parseIsoDuration(text)).to.equal(ms));
    it('refuses what is not a duration, naming the field', () => {
      for (const bad of ['0.5s', 'P', 'PT', '1S', 'PTS'])
        expect(() => parseIsoDuration(bad, 'delivery.backoffDelay')).to.throw(/delivery\.backoffDelay: .* is not an ISO 8601 duration/);
    });
  });

  describe('retryPolicy', () => {
    it('waits delay * 2^n before retry n (n from 0) when exponential', () => {
      const p = retryPolicy({ retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.5S' });
      expect(p.retries).to.equal(5);
      expect([0, 1, 2, 3, 4].map(p.backoffMs)).to.deep.equal([500, 1000, 2000, 4000, 8000]);
    });
    it('waits delay * n when linear, so the first retry is immediate', () => {
      const p = retryPolicy({ retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S' });
      expect([0, 1, 2].map(p.backoffMs)).to.deep.equal([0, 1000, 2000]);
    });
    it('does not wait without both policy and delay, and does not retry without retry', () => {
      expect(retryPolicy({ retry: 2, backoffDelay: 'PT1S' }).backoffMs(1)).to.equal(0);
      expect(retryPolicy({}).retries).to.equal(0);
      expect(retryPolicy(undefined).timeoutMs).to.equal(undefined);
    });
    it('reads the per-attempt timeout', () => {
      expect(retryPolicy({ timeout: 'PT300S' }).timeoutMs).to.equal(300_000);
    });
  });

  describe('isRetryable', () => {
    const cases: [number | undefined, boolean][] = [
      [undefined, true],
      [500, true],
      [502, true],
      [503, true],
      [404, true],
      [408, true],
      [409, true],
      [429, true],
      [400, false],
      [401, false],
      [403, false],
      [410, false],
      [422, false],
      [302, false],
      [200, false],
      [202, false],
    ];
    for (const [status, want] of cases)
      it(`${want ? 'retries' : 'does not retry'} ${status ?? 'no response'}`, () => expect(isRetryable(status)).to.equal(want));
  });

  describe('waitBeforeRetry', () => {
    const policy = retryPolicy({ retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.1S', retryAfterMax: 'PT2S' });
    it('honours Retry-After on 429 and 503 up to retryAfterMax', () => {
      expect(waitBeforeRetry(policy, 0, { status: 429, retryAfter: '1' })).to.equal(1000);
      expect(waitBeforeRetry(policy, 0, { status: 503, retryAfter: '60' })).to.equal(2000);
    });
    it('keeps the backoff when it is longer, or when the status or policy does not allow Retry-After', () => {
      expect(waitBeforeRetry(policy, 5, { status: 429, retryAfter: '1' })).to.equal(3200);
      expect(waitBeforeRetry(policy, 0, { status: 500, retryAfter: '1' })).to.equal(100);
      expect(
        waitBeforeRetry(retryPolicy({ retry: 1, backoffPolicy: 'linear', backoffDelay: 'PT1S' }), 1, { status: 429, retryAfter: '30' }),
      ).to.equal(1000);
    });
  });
});

describe('parseCron (PingSource schedules, UTC)', () => {
  const at = (iso: string): Date => new Date(iso);
  const cases: [string, string, string][] = [
    ['*/5 * * * *', '2026-01-01T00:03:20Z', '2026-01-01T00:05:00.000Z'],
    ['*/5 * * * *', '2026-01-01T00:05:00Z', '2026-01-01T00:10:00.000Z'],
    ['17 * * * *', '2026-01-01T10:17:00Z', '2026-01-01T11:17:00.000Z'],
    ['0 3 * * 1-5', '2026-01-02T04:00:00Z', '2026-01-05T03:00:00.000Z'],
    ['0 0 1 * *', '2026-01-15T00:00:00Z', '2026-02-01T00:00:00.000Z'],
    ['30 0 * * 7', '2026-01-01T00:00:00Z', '2026-01-04T00:30:00.000Z'],
    ['@hourly', '2026-01-01T00:59:59Z', '2026-01-01T01:00:00.000Z'],
    ['0 0 13 * 5', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00.000Z'],
  ];
  for (const [expr, after, want] of cases) {
    it(`fires "${expr}" after ${after} at ${want}`, () => expect(parseCron(expr).next(at(after)).toISOString()).to.equal(want));
  }
  it('refuses malformed schedules with the schedule in the message', () => {
    for (const bad of ['* * * *', '61 * * * *', 'a * * * *', '5-1 * * * *']) expect(() => parseCron(bad)).to.throw(/schedule ".*"/);
  });
});
