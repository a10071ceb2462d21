// The cluster the cold-start benches add: two instances, one user, one database (what a first event builds).

/** A postgresql manifest named `name` in `namespace`. */
export function sampleCluster(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name, namespace },
    spec: {
      teamId: 'acid',
      numberOfInstances: 2,
      volume: { size: '1Gi' },
      postgresql: { version: '17' },
      users: { zalando: ['superuser', 'createdb'] },
      databases: { foo: 'zalando' },
    },
  };
}
