// Maintenance windows in upstream's string form (pkg/apis/acid.zalan.do/v1/marshal.go):
// "HH:MM-HH:MM" every day, or "Ddd:HH:MM-HH:MM" on one weekday (Mon … Sun, exact case).
// Hours take one or two digits, minutes exactly two (Go's "15:04" layout); the end may not
// be before the start.
import type { MaintenanceWindow } from './postgresql.js';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

export interface ParsedMaintenanceWindow {
  everyday: boolean;
  /** 0 = Sunday … 6 = Saturday, as JavaScript's Date#getUTCDay; 0 when `everyday`. */
  weekday: number;
  /** "HH:MM", 24-hour clock. */
  start: string;
  end: string;
}

export function parseMaintenanceWindow(text: MaintenanceWindow): ParsedMaintenanceWindow {
  const halves = text.split('-');
  if (halves.length !== 2) throw new Error('is not a maintenance window (use HH:MM-HH:MM or Ddd:HH:MM-HH:MM)');
  const from = (halves[0] ?? '').split(':');
  let everyday = true;
  let weekday = 0;
  if (from.length === 3) {
    everyday = false;
    weekday = WEEKDAYS.indexOf(from[0] as (typeof WEEKDAYS)[number]);
    if (weekday < 0) throw new Error(`has an unknown weekday (use one of ${WEEKDAYS.join(', ')})`);
  } else if (from.length !== 2) {
    throw new Error('is not a maintenance window (use HH:MM-HH:MM or Ddd:HH:MM-HH:MM)');
  }
  const start = parseClock(from.slice(-2).join(':'));
  const end = parseClock(halves[1] ?? '');
  if (end < start) throw new Error('ends before it starts');
  return { everyday, weekday, start, end };
}

export function formatMaintenanceWindow(window: ParsedMaintenanceWindow): MaintenanceWindow {
  const span = `${window.start}-${window.end}`;
  return window.everyday ? span : `${WEEKDAYS[window.weekday] ?? 'Sun'}:${span}`;
}

/** Whether `now` (UTC) falls inside the window, both ends included, minute precision. */
export function isInMaintenanceWindow(window: ParsedMaintenanceWindow, now: Date): boolean {
  if (!window.everyday && window.weekday !== now.getUTCDay()) return false;
  const clock = `${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}`;
  return clock >= window.start && clock <= window.end;
}

function parseClock(text: string): string {
  const m = /^([0-9]{1,2}):([0-9]{2})$/.exec(text);
  const hours = Number(m?.[1]);
  const minutes = Number(m?.[2]);
  if (!m || hours > 23 || minutes > 59) throw new Error(`has an invalid time ${JSON.stringify(text)} (use HH:MM, 00:00 to 23:59)`);
  return `${pad(hours)}:${pad(minutes)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
