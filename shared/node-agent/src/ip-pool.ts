// Addresses for pods. Each pod gets its own address on this host, so processes of different pods can
// all bind :5432. They cannot come from 127.0.0.0/8: the API server refuses loopback (and link-local)
// addresses in Endpoints and EndpointSlices, so Services would never reach such pods. A private range
// is used instead and every address is added to `lo` (see HostAddresses), where it answers locally.
// The first host address is the node's own (status.hostIP); pods get the rest, least recently used first.

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
    if ((base >>> 24) === 127 || (base >>> 16) === 0xa9fe) {
      throw new Error(`ipRange ${cidr} is loopback or link-local: the API server rejects such addresses in Endpoints, so Services could not reach the pods; use a private range such as 10.244.10.0/24`);
    }
    this.base = base;
    const count = 2 ** (32 - prefix);
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
  if (ip === undefined || !Number.isInteger(prefix)) throw new Error(`ipRange "${cidr}" is not a CIDR like 10.244.10.0/24`);
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
