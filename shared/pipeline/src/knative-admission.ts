// Knative's admission webhooks for Triggers, served locally (ADR 0105): on a cluster Knative's webhook
// defaults every Trigger (the broker label, a `ref`'s namespace) and refuses an invalid one before any
// controller sees it. Here the API server calls this small HTTPS server (on loopback, a self-signed
// certificate as its caBundle), which runs Knative's own SetDefaults and Validate through the
// knative-webhook CLI (ADR 0061): `kubectl apply` of a Trigger Knative would refuse fails with Knative's
// message, as on a cluster, and Knative's controllers only ever see defaulted, valid Triggers.
// The webhook configurations carry Knative's names and are removed on stop. A Trigger stored while no
// webhook ran is checked once at start: one Knative refuses gets a Warning Event saying why.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { assertExclusive, binaries, kubectlRun, selfSignedServerCert } from '@pgfn/controlplane';
import { KubeClient } from '@pgfn/kube';
import { admitObjects } from './knative-webhook.js';
import type { Manifest } from './manifests.js';

/** Knative's own webhook configuration names (a refusal reads as on a cluster). */
export const DEFAULTING_WEBHOOK = 'defaulting.webhook.eventing.knative.dev';
export const VALIDATING_WEBHOOK = 'validation.webhook.eventing.knative.dev';

interface AdmissionRequest {
  readonly uid: string;
  readonly operation: string;
  readonly object?: Manifest;
}

interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string };
  readonly warnings?: readonly string[];
  readonly patchType?: 'JSONPatch';
  readonly patch?: string;
}

type Patch = readonly { readonly op: 'add'; readonly path: string; readonly value: unknown }[];

/** What the defaulting webhook changes: the spec and labels as Knative's SetDefaults leaves them (empty: nothing). */
export function defaultingPatch(object: Manifest, defaulted: Manifest): Patch {
  const o = object as { metadata?: { labels?: unknown }; spec?: unknown };
  const d = defaulted as { metadata?: { labels?: unknown }; spec?: unknown };
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  return [
    ...(same(o.spec, d.spec) ? [] : [{ op: 'add' as const, path: '/spec', value: d.spec }]),
    ...(same(o.metadata?.labels, d.metadata?.labels) || d.metadata?.labels === undefined
      ? []
      : [{ op: 'add' as const, path: '/metadata/labels', value: d.metadata.labels }]),
  ];
}

/** Knative's answer to one admission request: `mutate` gives the defaults as a patch, `validate` refuses with Knative's errors. */
export async function admissionResponse(kind: 'mutate' | 'validate', request: AdmissionRequest): Promise<AdmissionResponse> {
  if (request.object === undefined) return { uid: request.uid, allowed: true };
  const [result] = await admitObjects([request.object]);
  if (result === undefined) return { uid: request.uid, allowed: false, status: { code: 500, message: 'knative-webhook gave no result' } };
  const warnings = result.warnings.length > 0 ? { warnings: result.warnings } : {};
  if (kind === 'validate') {
    return result.errors.length > 0
      ? { uid: request.uid, allowed: false, status: { code: 400, message: `validation failed: ${result.errors.join('; ')}` } }
      : { uid: request.uid, allowed: true, ...warnings };
  }
  // Defaulting never refuses (Knative's defaulting webhook leaves that to validation).
  const patch = result.errors.length > 0 ? [] : defaultingPatch(request.object, result.object);
  return patch.length === 0
    ? { uid: request.uid, allowed: true }
    : { uid: request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
}

/** The two webhook configurations pointing the API server at `url` for Triggers (create and update). */
export function webhookConfigurations(url: string, caBundle: string): object[] {
  const webhook = (name: string, path: string): object => ({
    name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    // As Knative's: no Trigger is stored without its webhook's word.
    failurePolicy: 'Fail',
    timeoutSeconds: 10,
    clientConfig: { url: `${url}${path}`, caBundle },
    rules: [
      { apiGroups: ['eventing.knative.dev'], apiVersions: ['v1'], resources: ['triggers'], operations: ['CREATE', 'UPDATE'], scope: '*' },
    ],
  });
  const metadata = (name: string): object => ({ name, labels: { 'app.kubernetes.io/managed-by': 'pgfn-local' } });
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: metadata(DEFAULTING_WEBHOOK),
      webhooks: [webhook(DEFAULTING_WEBHOOK, '/defaulting')],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: metadata(VALIDATING_WEBHOOK),
      webhooks: [webhook(VALIDATING_WEBHOOK, '/validation')],
    },
  ];
}

export class TriggerAdmission {
  private constructor(
    private readonly server: Server,
    private readonly kubeconfig: string,
    /** Requests answered (tests see the API server called it). */
    readonly answered: { kind: 'mutate' | 'validate'; name: string; allowed: boolean }[],
  ) {}

  /** Serves the webhooks on loopback and registers them with the API server (this admin kubeconfig). */
  static async start(opts: { readonly kubeconfig: string }): Promise<TriggerAdmission> {
    // Every Trigger written to the API server goes through it while it runs: no other test beside it.
    assertExclusive("Knative's Trigger webhooks", ['knative']);
    const { cert, key } = await selfSignedServerCert({ cn: 'pgfn-local-knative-webhook', days: 30 });
    const answered: TriggerAdmission['answered'] = [];
    const server = createServer({ cert, key }, (req, res) => void handle(req, res, answered));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const admission = new TriggerAdmission(server, opts.kubeconfig, answered);
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const yaml = webhookConfigurations(url, cert.toString('base64'))
        .map((o) => JSON.stringify(o))
        .join('\n---\n');
      await kubectlRun(
        binaries().kubectl,
        opts.kubeconfig,
        ['apply', '--server-side', '--force-conflicts', '--field-manager=pgfn-local', '-f', '-'],
        yaml,
      );
    } catch (err) {
      await admission.stop();
      throw err;
    }
    return admission;
  }

  /**
   * Triggers stored while no webhook ran (every namespace): each one Knative refuses gets a Warning Event
   * (reason WebhookRefused) with Knative's message. Returns their `<namespace>/<name>`.
   */
  async checkStored(): Promise<string[]> {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.kubeconfig);
    const list = (await kc.makeApiClient(k8s.CustomObjectsApi).listClusterCustomObject({
      group: 'eventing.knative.dev',
      version: 'v1',
      plural: 'triggers',
    })) as { items: (Manifest & { metadata: { uid?: string } })[] };
    if (list.items.length === 0) return [];
    const objects = list.items.map((t) => ({ ...t, apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger' }));
    const results = await admitObjects(objects);
    const client = new KubeClient(kc);
    const refused: string[] = [];
    for (const [i, r] of results.entries()) {
      const t = list.items[i];
      if (t === undefined || r.errors.length === 0) continue;
      const namespace = t.metadata.namespace ?? 'default';
      refused.push(`${namespace}/${t.metadata.name}`);
      const now = new Date();
      await client.createEvent({
        metadata: { generateName: `${t.metadata.name}.`, namespace },
        involvedObject: {
          apiVersion: 'eventing.knative.dev/v1',
          kind: 'Trigger',
          name: t.metadata.name,
          namespace,
          ...(t.metadata.uid === undefined ? {} : { uid: t.metadata.uid }),
        },
        type: 'Warning',
        reason: 'WebhookRefused',
        message: `stored while Knative's webhook did not run; it refuses this Trigger: ${r.errors.join('; ')}`,
        source: { component: 'pgfn-local-knative-webhook' },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    }
    return refused;
  }

  /** Removes the webhook configurations (a Trigger written later is not refused by a server that is gone), then stops serving. */
  async stop(): Promise<void> {
    await kubectlRun(binaries().kubectl, this.kubeconfig, [
      'delete',
      '--ignore-not-found',
      `mutatingwebhookconfiguration/${DEFAULTING_WEBHOOK}`,
      `validatingwebhookconfiguration/${VALIDATING_WEBHOOK}`,
    ]).catch(() => undefined);
    // The API server drops a deleted configuration from its informer a moment later; until then it
    // still calls here, and a closed server would fail every Trigger write with an EOF (failurePolicy
    // Fail). So keep answering until a probe write no longer reaches us.
    await this.untilNoLongerCalled();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Server-side dry runs of a probe Trigger until one is admitted without calling this server (at most `timeoutMs`). */
  private async untilNoLongerCalled(timeoutMs = 10_000): Promise<void> {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.kubeconfig);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; Date.now() < deadline; i++) {
      const name = `pgfn-admission-probe-${i}`;
      const probe = {
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Trigger',
        metadata: { name },
        spec: { broker: 'probe', subscriber: { uri: 'http://probe' } },
      };
      const written = await custom
        .createNamespacedCustomObject({
          group: 'eventing.knative.dev',
          version: 'v1',
          namespace: 'default',
          plural: 'triggers',
          body: probe,
          dryRun: 'All',
        })
        .then(
          () => true,
          () => false,
        );
      // A refused probe (no Trigger CRD, say) tells nothing: the API server cannot be calling us for it.
      if (!written || !this.answered.some((a) => a.name === name)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, answered: TriggerAdmission['answered']): Promise<void> {
  // The API server adds its own query (`?timeout=10s`).
  const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
  const kind = path === '/defaulting' ? 'mutate' : path === '/validation' ? 'validate' : undefined;
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (kind === undefined || req.method !== 'POST') {
    res.writeHead(404).end();
    return;
  }
  try {
    const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { apiVersion: string; kind: string; request: AdmissionRequest };
    const response = await admissionResponse(kind, review.request);
    answered.push({ kind, name: review.request.object?.metadata.name ?? '', allowed: response.allowed });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ apiVersion: review.apiVersion, kind: review.kind, response }));
  } catch (err) {
    res.writeHead(500).end((err as Error).message);
  }
}
