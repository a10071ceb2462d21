// A bucket reader configured the way the AWS tools are: AWS_ENDPOINT (an S3-compatible server),
// AWS_REGION, AWS_S3_FORCE_PATH_STYLE, and the SDK's own credential chain (AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY, web identity, instance profile). One client for every bucket.
import { S3Client } from '@aws-sdk/client-s3';
import { s3ObjectStore, type ObjectStore } from './object-store.js';

export function s3StoresFromEnv(env: NodeJS.ProcessEnv): (bucket: string) => ObjectStore {
  const endpoint = env['AWS_ENDPOINT'] || undefined;
  const client = new S3Client({
    endpoint,
    region: env['AWS_REGION'] || 'us-east-1',
    // An endpoint of our own (versitygw, Ceph, …) is addressed by path unless told otherwise.
    forcePathStyle: env['AWS_S3_FORCE_PATH_STYLE'] === undefined ? endpoint !== undefined : env['AWS_S3_FORCE_PATH_STYLE'] === 'true',
  });
  return (bucket) => s3ObjectStore(client, bucket);
}
