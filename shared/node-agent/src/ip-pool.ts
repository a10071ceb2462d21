// Addresses for pods. Each pod gets its own address on this host, so processes of different pods can
// all bind :5432. They come from 127.0.0.0/8 only: Linux answers every address of that block on `lo`
// without configuring anything, and test traffic must stay on loopback. (The API server refuses such
// addresses in Endpoints and EndpointSlices, so Services are resolved from pods instead: resolver.ts.)
// The first host address is the node's own (status.hostIP); pods get the rest, least recently used first.

const LOCALHOST = 0x7f000001;

export interface IpPoolState {
  readonly nodeIP: string;
  readonly size: number;
}

export class IpPool {
  readonly nodeIP: string;
  private readonly free: number[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly base: number;

  constructor(cidr: string) {
    const { base, prefix } = parseCidr(cidr);
    if (prefix < 8 || prefix > 29) throw new Error(`ipRange ${cidr}: the prefix must be between /8 and /29`);
    const count = 2 ** (32 - prefix);
    if (base >>> 24 !== 127)
      throw new Error(`ipRange ${cidr} is outside 127.0.0.0/8: pods must get loopback addresses; use a range such as 127.0.10.0/24`);
    if (LOCALHOST >= base && LOCALHOST < base + count)
      throw new Error(
        `ipRange ${cidr} contains 127.0.0.1 (localhost, used by other services on this host); use a range such as 127.0.10.0/24`,
      );
    this.base = base;
    this.nodeIP = toIp(base + 1);
    for (let i = 2; i < count - 1; i++) this.free.push(i);
  }

  /** The address of `key`, allocating one (or `preferred` when it is in range and free). */
  allocate(key: string, preferred?: string): string {
    const known = this.byKey.get(key);
    if (known !== undefined) return toIp(this.base + known);
    let offset: number | undefined;
    if (preferred !== undefined) {
      const wanted = toNumber(preferred) - this.base;
      const at = this.free.indexOf(wanted);
      if (at >= 0) offset = this.free.splice(at, 1)[0];
    }
    offset ??= this.free.shift();
    if (offset === undefined) throw new Error('no free pod address left in ipRange');
    this.byKey.set(key, offset);
    return toIp(this.base + offset);
  }

  release(key: string): void {
    const offset = this.byKey.get(key);
    if (offset === undefined) return;
    this.byKey.delete(key);
    // Reused last, so a client holding a dead pod's address does not reach a new pod by accident.
    this.free.push(offset);
  }

  contains(ip: string): boolean {
    try {
      const offset = toNumber(ip) - this.base;
      return offset >= 1 && offset < this.free.length + this.byKey.size + 2;
    } catch {
      return false;
    }
  }
}

function parseCidr(cidr: string): { base: number; prefix: number } {
  const [ip, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (ip === undefined || !Number.isInteger(prefix)) throw new Error(`ipRange "${cidr}" is not a CIDR like 127.0.10.0/24`);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return { base: (toNumber(ip) & mask) >>> 0, prefix };
}

function toNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`"${ip}" is not an IPv4 address`);
  return (((parts[0] as number) << 24) >>> 0) + ((parts[1] as number) << 16) + ((parts[2] as number) << 8) + (parts[3] as number);
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
