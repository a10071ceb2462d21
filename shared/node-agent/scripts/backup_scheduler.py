#!/usr/bin/env python3
# pgfn node agent stand-in for Spilo's base-backup schedule: launch.sh's first backup once Patroni
# reports this member as primary (patroni_wait.sh, polled every 5 s here instead of 60 s), then the
# cron line `<BACKUP_SCHEDULE> envdir <WALE_ENV_DIR> postgres_backup.sh <PGDATA>`, checked each minute.
# Usage: backup_scheduler.py <envdir> <pgdata> <schedule> <patroni api url>
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]


def field_matches(spec, value, low, high):
    for part in spec.split(','):
        step = 1
        if '/' in part:
            part, step_text = part.split('/', 1)
            step = int(step_text)
        if part == '*':
            first, last = low, high
        elif '-' in part:
            first, last = (int(x) for x in part.split('-', 1))
        else:
            first = last = int(part)
        if first <= value <= last and (value - first) % step == 0:
            return True
    return False


def cron_matches(schedule, t):
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError('BACKUP_SCHEDULE {0!r} is not a five-field cron expression'.format(schedule))
    values = [t.tm_min, t.tm_hour, t.tm_mday, t.tm_mon, (t.tm_wday + 1) % 7]
    return all(field_matches(f, v, lo, hi) for f, v, (lo, hi) in zip(fields, values, RANGES))


def is_primary(api):
    try:
        with urllib.request.urlopen(api + '/primary', timeout=5) as response:
            return response.status == 200
    except Exception:
        return False


def backup(envdir, pgdata):
    subprocess.call(['envdir', envdir, 'bash', os.path.join(HERE, 'postgres_backup.sh'), pgdata])


def main():
    envdir, pgdata, schedule, api = sys.argv[1:5]
    cron_matches(schedule, time.gmtime())  # fail early on a bad expression
    deadline = time.time() + 3600
    while time.time() < deadline and not is_primary(api):
        time.sleep(5)
    if time.time() < deadline:
        backup(envdir, pgdata)
    while True:
        time.sleep(60 - time.time() % 60 + 0.5)
        if cron_matches(schedule, time.gmtime()):
            backup(envdir, pgdata)


if __name__ == '__main__':
    main()
