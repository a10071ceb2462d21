// Retention of logical backups (logical_backup_s3_retention_time): the node agent's stand-in of
// upstream's dump.sh deletes, after each upload, the dumps last modified on or before the day the
// retention time names, sparing the last one listed. A test cannot backdate an object's LastModified
// in a real S3 server, so it moves the cut-off instead: a negative retention ("-1 day") puts it on
// tomorrow, making every dump of today outdated; "1 day" puts it on yesterday, keeping them all.
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { S3Server } from '@pgfn/controlplane';
import { barmanVenv } from '../../shared/node-agent/src/spilo/barman.js';
import { LOGICAL_BUCKET, startS3 } from './support.js';

const SCRIPT_DIR = fileURLToPath(new URL('../../shared/node-agent/scripts', import.meta.url));
const PREFIX = 'spilo/acid-retention/logical_backups/';
const OTHER = 'spilo/acid-neighbour/logical_backups/1700000000.sql.gz';

describe('backups: logical-backup retention (dump.sh rule, run by the stand-in script)', function () {
  this.timeout(120_000);
  let s3: S3Server;
  let client: S3Client;

  before(async () => {
    s3 = await startS3();
    client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
  });

  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  beforeEach(async () => {
    const old = await keys('');
    if (old.length > 0)
      await client.send(new DeleteObjectsCommand({ Bucket: LOGICAL_BUCKET, Delete: { Objects: old.map((Key) => ({ Key })) } }));
    for (const key of [`${PREFIX}1764900000.sql.gz`, `${PREFIX}1764910000.sql.gz`, `${PREFIX}1764920000.sql.gz`, OTHER]) {
      await client.send(new PutObjectCommand({ Bucket: LOGICAL_BUCKET, Key: key, Body: 'dump' }));
    }
  });

  async function keys(prefix: string): Promise<string[]> {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: LOGICAL_BUCKET, Prefix: prefix }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
  }

  /** Runs the script's own cleanup step (what it does after every upload) against the real S3 server. */
  async function cleanup(retention: string | undefined): Promise<string> {
    const python = join(barmanVenv(), 'bin', 'python3');
    const program = [
      'import sys',
      `sys.path.insert(0, ${JSON.stringify(SCRIPT_DIR)})`,
      'import logical_backup as lb',
      `lb.delete_outdated(lb.s3_client(), ${JSON.stringify(LOGICAL_BUCKET)}, ${JSON.stringify(PREFIX)})`,
    ].join('\n');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      LOGICAL_BACKUP_S3_ENDPOINT: s3.endpoint,
      LOGICAL_BACKUP_S3_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      ...(retention === undefined ? {} : { LOGICAL_BACKUP_S3_RETENTION_TIME: retention }),
    };
    // -B: no __pycache__ written beside the scripts (it would be copied into every Spilo pod's /run/scripts).
    const { stderr } = await promisify(execFile)(python, ['-B', '-c', program], { env });
    return stderr;
  }

  it('deletes the outdated dumps of the cluster, sparing the newest, and leaves other clusters alone', async () => {
    const log = await cleanup('-1 day');
    expect(log).to.match(/deleting 2 outdated backups/);
    expect(await keys(PREFIX)).to.deep.equal([`${PREFIX}1764920000.sql.gz`]);
    expect(await keys('spilo/acid-neighbour/')).to.deep.equal([OTHER]);
  });

  it('keeps dumps younger than the retention time', async () => {
    const log = await cleanup('1 day');
    expect(log).to.match(/no outdated backups to delete/);
    expect(await keys(PREFIX)).to.have.length(3);
  });

  it('keeps everything when no retention time is configured', async () => {
    const log = await cleanup(undefined);
    expect(log).to.match(/no retention time configured/);
    expect(await keys(PREFIX)).to.have.length(3);
  });
});
