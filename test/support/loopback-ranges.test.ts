import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { claimLoopbackRanges } from './loopback-ranges.js';

describe('loopback ranges for test node agents (ADR 0141): no two claims share a /24', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgfn-loopback-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands out every /24 of 127.0.100–199 once, consecutive ones when asked, and then fails saying so', () => {
    const three = claimLoopbackRanges({ dir, count: 3 });
    expect(three.ranges).to.deep.equal([0, 1, 2].map((i) => `127.0.${three.firstOctet + i}.0/24`));
    const singles = Array.from({ length: 97 }, () => claimLoopbackRanges({ dir }));
    const octets = [...three.ranges, ...singles.flatMap((c) => c.ranges)].map((r) => Number(r.split('.')[2]));
    expect(new Set(octets).size).to.equal(100);
    expect(Math.min(...octets)).to.equal(100);
    expect(Math.max(...octets)).to.equal(199);
    expect(() => claimLoopbackRanges({ dir })).to.throw('no 1 consecutive free loopback /24s in 127.0.100–199.0');
    three.release();
    three.release();
    expect(claimLoopbackRanges({ dir, count: 3 }).firstOctet).to.equal(three.firstOctet);
  });

  it("takes over a dead owner's claim, never a live one's", () => {
    const dead = spawnSync('true').pid;
    for (let octet = 100; octet <= 199; octet++) writeFileSync(join(dir, String(octet)), `${octet === 150 ? dead : process.ppid}\n`);
    const claim = claimLoopbackRanges({ dir });
    expect(claim.ranges).to.deep.equal(['127.0.150.0/24']);
    claim.release();
    expect(readdirSync(dir)).to.have.length(99);
  });
});
