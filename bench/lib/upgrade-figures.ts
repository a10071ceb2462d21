// Figures bench:upgrade derives from what it recorded: the writer's acknowledged commits and the
// output of inplace_upgrade.py (the node agent's stand-in logs with millisecond timestamps).

/** The longest pause between two acknowledged writes that overlaps [from, to] (ms since the epoch). */
export function writeGapMs(acks: readonly { readonly at: number }[], window: { readonly from: number; readonly to: number }): number {
  let gap = 0;
  for (let i = 1; i < acks.length; i++) {
    const a = acks[i - 1]?.at ?? 0;
    const b = acks[i]?.at ?? 0;
    if (b >= window.from && a <= window.to) gap = Math.max(gap, b - a);
  }
  return gap;
}

const LINE = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) inplace_upgrade: (.*)$/;

/**
 * Seconds from the start of the real pg_upgrade run (not its --check) to the script's next line, or
 * NaN when the output does not show it.
 */
export function pgUpgradeSeconds(output: string): number {
  const lines = output.split('\n').flatMap((l) => {
    const m = LINE.exec(l.trim());
    return m === null ? [] : [{ at: Date.parse(`${(m[1] ?? '').replace(' ', 'T')}Z`), text: m[2] ?? '' }];
  });
  const i = lines.findIndex((l) => /^running \S*\/pg_upgrade /.test(l.text) && !l.text.includes('--check'));
  const start = lines[i];
  const next = lines[i + 1];
  return i < 0 || start === undefined || next === undefined ? NaN : (next.at - start.at) / 1000;
}
