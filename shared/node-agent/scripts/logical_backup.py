#!/usr/bin/env python3
# pgfn node agent stand-in for upstream's logical-backup image (logical-backup/dump.sh), S3 provider:
# pg_dumpall of the cluster (PGHOST: a replica, else the master, chosen by the agent), gzip, upload to
# s3://<LOGICAL_BACKUP_S3_BUCKET>/<LOGICAL_BACKUP_S3_BUCKET_PREFIX>/<SCOPE><..._SCOPE_SUFFIX>/
# logical_backups/<epoch>.sql.gz, then dump.sh's retention: objects last modified on or before the day
# LOGICAL_BACKUP_S3_RETENTION_TIME ago are deleted, sparing the last one listed. Unlike dump.sh, the
# dump is complete before the upload starts, so a failed dump never leaves a truncated object; any
# failure exits non-zero and fails the Job. Runs with the barman venv's Python (it has boto3).
import os
import subprocess
import sys
import time

import boto3


def log(message):
    sys.stderr.write('{0} logical_backup: {1}\n'.format(time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()), message))


def pg_bin(version):
    wanted = '/usr/lib/postgresql/{0}/bin'.format(version)
    if os.path.exists(wanted + '/pg_dumpall'):
        return wanted
    installed = sorted((int(v) for v in os.listdir('/usr/lib/postgresql') if v.isdigit()), reverse=True)
    if not installed:
        raise SystemExit('logical_backup: no PostgreSQL client is installed')
    log('PostgreSQL {0} is not installed here; using the {1} client'.format(version, installed[0]))
    return '/usr/lib/postgresql/{0}/bin'.format(installed[0])


def s3_client():
    kwargs = {}
    if os.environ.get('LOGICAL_BACKUP_S3_ENDPOINT'):
        kwargs['endpoint_url'] = os.environ['LOGICAL_BACKUP_S3_ENDPOINT']
    kwargs['region_name'] = os.environ.get('LOGICAL_BACKUP_S3_REGION') or 'us-east-1'
    return boto3.client('s3', **kwargs)


def delete_outdated(s3, bucket, prefix):
    retention = os.environ.get('LOGICAL_BACKUP_S3_RETENTION_TIME', '')
    if not retention:
        log('no retention time configured: skip cleanup of outdated backups')
        return
    cutoff = subprocess.check_output(['date', '-u', '-d', retention + ' ago', '+%F'], text=True).strip()
    objects = []
    for page in s3.get_paginator('list_objects').paginate(Bucket=bucket, Prefix=prefix):
        objects.extend(page.get('Contents', []))
    # dump.sh compares the ISO time with the day as strings: on or before that day's start.
    outdated = [o['Key'] for o in objects if o['LastModified'].strftime('%Y-%m-%dT%H:%M:%S') <= cutoff][:-1]
    if not outdated:
        log('no outdated backups to delete')
        return
    log('deleting {0} outdated backups created before {1}'.format(len(outdated), cutoff))
    for start in range(0, len(outdated), 100):
        s3.delete_objects(Bucket=bucket, Delete={'Objects': [{'Key': k} for k in outdated[start:start + 100]], 'Quiet': True})


def main():
    provider = os.environ.get('LOGICAL_BACKUP_PROVIDER') or 's3'
    if provider != 's3':
        log('provider {0!r} is not supported by the local node agent (only s3)'.format(provider))
        return 1
    if not os.environ.get('PGHOST'):
        log('no ready replica or master of {0} to dump'.format(os.environ.get('SCOPE')))
        return 1
    bucket = os.environ.get('LOGICAL_BACKUP_S3_BUCKET', '')
    if not bucket:
        log('LOGICAL_BACKUP_S3_BUCKET is not set')
        return 1
    prefix = '{0}/{1}{2}/logical_backups/'.format(
        os.environ.get('LOGICAL_BACKUP_S3_BUCKET_PREFIX', 'spilo'), os.environ['SCOPE'],
        os.environ.get('LOGICAL_BACKUP_S3_BUCKET_SCOPE_SUFFIX', ''))
    key = '{0}{1}.sql.gz'.format(prefix, int(time.time()))
    dump_file = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'dump.sql.gz')
    binary = pg_bin(os.environ.get('PG_VERSION', ''))
    log('dumping {0} from {1}'.format(os.environ['SCOPE'], os.environ['PGHOST']))
    started = time.time()
    with open(dump_file, 'wb') as out:
        dump = subprocess.Popen([binary + '/pg_dumpall'], stdout=subprocess.PIPE)
        gzip = subprocess.Popen(['gzip', '-c'], stdin=dump.stdout, stdout=out)
        dump.stdout.close()
        gzip_code, dump_code = gzip.wait(), dump.wait()
    if dump_code != 0 or gzip_code != 0:
        log('pg_dumpall exited {0}, gzip {1}: nothing uploaded'.format(dump_code, gzip_code))
        return 1
    size = os.path.getsize(dump_file)
    s3 = s3_client()
    extra = {'ServerSideEncryption': os.environ['LOGICAL_BACKUP_S3_SSE']} if os.environ.get('LOGICAL_BACKUP_S3_SSE') else {}
    s3.upload_file(dump_file, bucket, key, ExtraArgs=extra or None)
    os.remove(dump_file)
    log('uploaded s3://{0}/{1} ({2} bytes, {3:.1f} s)'.format(bucket, key, size, time.time() - started))
    delete_outdated(s3, bucket, prefix)
    return 0


if __name__ == '__main__':
    sys.exit(main())
