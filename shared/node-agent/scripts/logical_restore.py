#!/usr/bin/env python3
# pgfn node agent: restore a new cluster from a logical backup (ADR 0017), called by post_init.sh
# under the envdir /run/etc/pgfn/logical-restore with the superuser connection URL. Downloads
# PGFN_RESTORE_LOGICAL_BACKUP (s3://bucket/key.sql.gz), skips statements about the cluster's own
# superuser and replication roles (it keeps its own passwords), and replays the rest with psql.
# Runs with the barman venv's Python (boto3).
import gzip
import os
import re
import shutil
import subprocess
import sys

import boto3


MARKER = 'pgfn.restored_logical_backup'


def psql_value(dsn, query):
    return subprocess.check_output(['psql', '-X', '-tA', '-d', dsn, '-c', query], text=True).strip()


def main():
    dsn = sys.argv[1]
    url = os.environ['PGFN_RESTORE_LOGICAL_BACKUP']
    # post_init runs again after every promotion: restore only once per cluster (a database setting
    # records it, and it travels with the data to replicas and clones).
    done = psql_value(dsn, "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                           "WHERE d.datname = 'postgres' AND s.setrole = 0 AND "
                           "array_to_string(s.setconfig, ',') LIKE '{0}=%'".format(MARKER))
    if done != '0':
        return 0
    match = re.match(r'^s3://([^/]+)/(.+)$', url)
    if not match:
        sys.stderr.write('logical_restore: {0!r} is not an s3://bucket/key URL\n'.format(url))
        return 1
    endpoint = os.environ.get('LOGICAL_BACKUP_S3_ENDPOINT') or os.environ.get('AWS_ENDPOINT') or None
    region = os.environ.get('LOGICAL_BACKUP_S3_REGION') or os.environ.get('AWS_REGION') or 'us-east-1'
    s3 = boto3.client('s3', endpoint_url=endpoint, region_name=region)
    local = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'logical-restore.sql.gz')
    s3.download_file(match.group(1), match.group(2), local)
    own = {os.environ.get('PGUSER_SUPERUSER', 'postgres'), os.environ.get('PGUSER_STANDBY', 'standby')}
    system_role = re.compile(r'^(CREATE|ALTER) ROLE "?({0})"?[ ;]'.format('|'.join(re.escape(r) for r in own)))
    psql = subprocess.Popen(['psql', '-X', '-q', '-d', dsn], stdin=subprocess.PIPE, text=True)
    skipped = 0
    with gzip.open(local, 'rt') as dump:
        for line in dump:
            if system_role.match(line):
                skipped += 1
                continue
            psql.stdin.write(line)
    psql.stdin.close()
    code = psql.wait()
    os.remove(local)
    if code == 0:
        psql_value(dsn, "ALTER DATABASE postgres SET {0} = '{1}'".format(MARKER, url.replace("'", "''")))
    sys.stderr.write('logical_restore: replayed {0} (skipped {1} statements about {2}); psql exited {3}\n'.format(
        url, skipped, ', '.join(sorted(own)), code))
    return 0 if code == 0 else 1


if __name__ == '__main__':
    shutil.which('psql') or sys.exit('logical_restore: psql is not on PATH')
    sys.exit(main())
