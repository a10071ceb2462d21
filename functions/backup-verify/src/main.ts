// The backup-verify function's process: the kit's clients, a bucket reader from the AWS environment,
// the policy from the Knative Service's environment, exec into pods for base backups on request.
import { s3StoresFromEnv } from '@pgfn/backup-store';
import { runFunction } from '@pgfn/fn-runtime';
import { loadKubeConfig, podExec } from '@pgfn/kube';
import { createHandler } from './handler.js';
import { backupMetrics } from './metrics.js';
import { policyFromEnv } from './policy.js';
import { DEFAULT_QUEUE_RULES } from './restore-queue.js';
import { restoreSlots } from './restore-slots.js';

const policy = policyFromEnv(process.env);

runFunction('backup-verify', (kit) =>
  createHandler({
    ...kit,
    watchedNamespace: kit.env.watchedNamespace,
    stores: s3StoresFromEnv(process.env),
    policy,
    metrics: backupMetrics(kit.metrics.registry),
    exec: podExec(loadKubeConfig(process.env)),
    // the fleet's restore-test queue lives beside the operator configuration (ADR 0071)
    slots: restoreSlots({
      kube: kit.kube,
      namespace: process.env['OPERATOR_NAMESPACE'] || 'default',
      rules: { ...DEFAULT_QUEUE_RULES, limit: policy.restoreTestsAtOnce },
    }),
  }),
);
