// A real S3 server for backups in tests and the local stack: versitygw (Apache-2.0) serving a
// directory through its posix backend, on loopback, with generated credentials. Started and stopped
// like the control plane's components; it can be stopped and started again on the same port and data,
// which is how tests take the archive away from a running cluster.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './ports.js';
import { ManagedProcess, tailFile } from './process.js';
import { cacheDir, readVersions } from './versions.js';

export interface S3ServerOptions {
  /** Folder for the data (`buckets/`) and the log; a new temporary folder when undefined. */
  readonly dir?: string;
  /** Buckets to create (kept when they already exist). */
  readonly buckets?: readonly string[];
  readonly port?: number;
  /** Given credentials (a restarted local stack keeps its own); generated from the RNG when undefined. */
  readonly credentials?: S3Credentials;
}

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Where an S3 client finds the server. */
export interface S3Endpoint extends S3Credentials {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly region: string;
}

const REGION = 'us-east-1';

/** The cached versitygw binary; throws naming the build command when it is missing. */
export function versitygwBinary(): string {
  const version = readVersions()['VERSITYGW_VERSION'];
  if (version === undefined) throw new Error('hack/versions.env lacks VERSITYGW_VERSION');
  const bin = join(cacheDir(), 'bin', `versitygw-${version}`, 'versitygw');
  if (!existsSync(bin)) throw new Error(`versitygw ${version} is missing (${bin}); build it with: bash hack/build-bins.sh versitygw`);
  return bin;
}

export class S3Server implements S3Endpoint {
  private process: ManagedProcess | undefined;
  readonly region = REGION;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly credentials: S3Credentials,
    private readonly removeOnStop: boolean,
  ) {}

  static async start(options: S3ServerOptions = {}): Promise<S3Server> {
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pgfn-s3-'));
    const credentials = options.credentials ?? {
      accessKeyId: `pgfn${randomBytes(8).toString('hex')}`,
      secretAccessKey: randomBytes(24).toString('base64url'),
    };
    const server = new S3Server(dir, options.port ?? (await freePort()), credentials, options.dir === undefined);
    await server.resume();
    for (const bucket of options.buckets ?? []) await server.ensureBucket(bucket);
    return server;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get accessKeyId(): string {
    return this.credentials.accessKeyId;
  }

  get secretAccessKey(): string {
    return this.credentials.secretAccessKey;
  }

  get running(): boolean {
    return this.process?.running === true;
  }

  get logFile(): string {
    return join(this.dir, 'versitygw.log');
  }

  /** An S3 client of the AWS SDK for this server (path-style addressing). */
  client(credentials: S3Credentials = this.credentials): S3Client {
    return new S3Client({ endpoint: this.endpoint, region: REGION, forcePathStyle: true, credentials: { ...credentials } });
  }

  /** Starts the server (again) on its port and data, and waits until it answers S3 requests. */
  async resume(): Promise<void> {
    if (this.running) return;
    const data = join(this.dir, 'buckets');
    mkdirSync(data, { recursive: true });
    // The credentials go through the environment, not argv, so `ps` does not show them.
    const env = { ...process.env, ROOT_ACCESS_KEY: this.accessKeyId, ROOT_SECRET_KEY: this.secretAccessKey };
    this.process = new ManagedProcess({
      name: 'versitygw',
      logFile: this.logFile,
      command: versitygwBinary(),
      args: ['--port', `127.0.0.1:${this.port}`, '--region', REGION, 'posix', data],
      env,
    });
    const deadline = Date.now() + 30_000;
    const s3 = this.client();
    try {
      for (;;) {
        if (!this.running) throw new Error(`versitygw exited:\n${tailFile(this.logFile, 20)}`);
        try {
          await s3.send(new HeadBucketCommand({ Bucket: 'pgfn-readiness-probe' }));
          return;
        } catch (err) {
          // Any S3 answer (404 for the probe bucket) means the server is up; a refused connection does not.
          if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== undefined) return;
        }
        if (Date.now() > deadline)
          throw new Error(`versitygw did not answer on ${this.endpoint} within 30 s:\n${tailFile(this.logFile, 20)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      s3.destroy();
    }
  }

  /** Creates a bucket unless it exists. */
  async ensureBucket(bucket: string): Promise<void> {
    const s3 = this.client();
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const name = (err as Error).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
    } finally {
      s3.destroy();
    }
  }

  /** Stops the process and keeps the data: `resume()` brings the same server back (an outage, in tests). */
  async pause(): Promise<void> {
    await this.process?.stop();
  }

  /** Stops the process; removes the data when the folder was a temporary one. */
  async stop(): Promise<void> {
    await this.process?.stop();
    if (this.removeOnStop) rmSync(this.dir, { recursive: true, force: true });
  }
}
