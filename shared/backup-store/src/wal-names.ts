// WAL file names and LSNs (pure). A segment name is timeline, log and segment as 8 hex digits each.

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
/** Postgres' default segment size; both tools record LSNs, and names follow from them with it. */
export const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;

/** The segment name at the start of a file name ("000000010000000000000003.gz" → the 24 digits), or undefined. */
export function segmentNameOf(fileName: string): string | undefined {
  const base = fileName.split('.')[0] ?? '';
  return SEGMENT.test(base) ? base : undefined;
}

export function timelineOfSegment(name: string): number {
  return Number.parseInt(name.slice(0, 8), 16);
}

/** "0/3000028" → 50331688n */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (match === null) throw new Error(`"${text}" is not an LSN (X/Y in hex)`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** The name of the segment holding `lsn` on `timeline` (16 MiB segments). */
export function segmentOf(timeline: number, lsn: bigint): string {
  const segment = lsn / BigInt(WAL_SEGMENT_BYTES);
  const perLog = 0x100000000n / BigInt(WAL_SEGMENT_BYTES);
  const hex = (n: bigint | number): string => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(segment / perLog)}${hex(segment % perLog)}`;
}

/** Segments in WAL order: by log position first, then timeline (as Postgres' restore would ask for them). */
export function compareSegments(a: string, b: string): number {
  const key = (s: string): string => `${s.slice(8)}${s.slice(0, 8)}`;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}
