// The five-field cron schedules of logical backups (as Kubernetes CronJobs read them, UTC): when the
// schedule fired last before a time (pure).

const RANGES: readonly [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
];

function fieldMatches(spec: string, value: number, [low, high]: [number, number]): boolean {
  return spec.split(',').some((part) => {
    const [range = '*', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    // "*" is the whole range; "a-b" a range; "a" one value, or "a/s" from a to the end in steps
    const bounds =
      range === '*' ? [low, high] : range.includes('-') ? range.split('-').map(Number) : [Number(range), stepText ? high : Number(range)];
    const [first = NaN, last = NaN] = bounds;
    if (!Number.isInteger(step) || step < 1 || Number.isNaN(first) || Number.isNaN(last))
      throw new Error(`cron field "${spec}" is not understood`);
    return value >= first && value <= last && (value - first) % step === 0;
  });
}

/** Whether `schedule` fires in the minute of `t` (UTC). */
export function cronFires(schedule: string, t: Date): boolean {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`"${schedule}" is not a five-field cron schedule`);
  const values = [t.getUTCMinutes(), t.getUTCHours(), t.getUTCDate(), t.getUTCMonth() + 1, t.getUTCDay()];
  return fields.every((f, i) => fieldMatches(f, values[i] as number, RANGES[i] as [number, number]));
}

/** The last `count` minutes (newest first) at or before `before` when `schedule` fired; searches back up to 400 days. */
export function previousFires(schedule: string, before: Date, count: number): Date[] {
  const out: Date[] = [];
  const t = new Date(Math.floor(before.getTime() / 60_000) * 60_000);
  for (let i = 0; i < 400 * 1440 && out.length < count; i++) {
    if (cronFires(schedule, t)) out.push(new Date(t));
    t.setTime(t.getTime() - 60_000);
  }
  return out;
}
