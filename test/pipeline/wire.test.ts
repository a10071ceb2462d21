import { expect } from 'chai';
import { adapterConfigFor, fromHttp, guessResource, selectorString, toBinaryHeaders, type ApiServerSourceManifest } from '@pgfn/pipeline';

describe('CloudEvents on the wire (broker ingress and delivery)', () => {
  it('reads binary mode: ce-* headers are attributes, content-type is datacontenttype, the body is untouched', () => {
    const e = fromHttp(
      {
        'ce-specversion': '1.0',
        'ce-id': 'a',
        'ce-source': '/s',
        'ce-type': 't',
        'ce-subject': 'ns%2Fname%20x',
        'content-type': 'application/json',
      },
      Buffer.from('{"a": 1}'),
    );
    expect(e).to.deep.equal({
      attributes: { specversion: '1.0', id: 'a', source: '/s', type: 't', subject: 'ns/name x', datacontenttype: 'application/json' },
      data: Buffer.from('{"a": 1}'),
    });
  });
  it('reads structured mode with JSON data, string data and data_base64', () => {
    const base = { specversion: '1.0', id: 'a', source: '/s', type: 't' };
    const json = fromHttp(
      { 'content-type': 'application/cloudevents+json' },
      Buffer.from(JSON.stringify({ ...base, datacontenttype: 'application/json', data: { x: [1] } })),
    );
    expect(typeof json !== 'string' && json.data.toString()).to.equal('{"x":[1]}');
    const text = fromHttp(
      { 'content-type': 'application/cloudevents+json' },
      Buffer.from(JSON.stringify({ ...base, datacontenttype: 'text/plain', data: 'hi' })),
    );
    expect(typeof text !== 'string' && text.data.toString()).to.equal('hi');
    const b64 = fromHttp(
      { 'content-type': 'application/cloudevents+json' },
      Buffer.from(JSON.stringify({ ...base, data_base64: Buffer.from([0, 1, 2]).toString('base64') })),
    );
    expect(typeof b64 !== 'string' && [...b64.data]).to.deep.equal([0, 1, 2]);
  });
  it('says why a request is not a CloudEvent', () => {
    expect(fromHttp({ 'content-type': 'application/json' }, Buffer.from('{}'))).to.match(/no ce-\* headers/);
    expect(fromHttp({ 'content-type': 'application/cloudevents+json' }, Buffer.from('nope'))).to.match(/not JSON/);
    expect(fromHttp({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from('[]'))).to.match(/batched/);
  });
  it('writes binary mode, percent-encoding what HTTP headers cannot carry', () => {
    expect(
      toBinaryHeaders({ attributes: { id: 'a', subject: 'ns/ä "x" 100%', datacontenttype: 'application/json' }, data: Buffer.alloc(0) }),
    ).to.deep.equal({ 'ce-id': 'a', 'ce-subject': 'ns/%C3%A4%20%22x%22%20100%25', 'content-type': 'application/json' });
  });
});

describe('K_SOURCE_CONFIG derivation', () => {
  it('guesses plural resources like Kubernetes does', () => {
    expect(
      ['postgresql', 'PostgresTeam', 'OperatorConfiguration', 'Pod', 'StatefulSet', 'Ingress', 'Policy', 'Endpoints'].map(guessResource),
    ).to.deep.equal([
      'postgresqls',
      'postgresteams',
      'operatorconfigurations',
      'pods',
      'statefulsets',
      'ingresses',
      'policies',
      'endpoints',
    ]);
  });
  it("prints label selectors in Kubernetes' form, sorted by key", () => {
    expect(
      selectorString({
        matchLabels: { b: '2', a: '1' },
        matchExpressions: [
          { key: 'c', operator: 'In', values: ['y', 'x'] },
          { key: 'd', operator: 'DoesNotExist' },
          { key: 'aa', operator: 'Exists' },
        ],
      }),
    ).to.equal('a=1,aa,b=2,c in (x,y),!d');
    expect(selectorString({})).to.equal('');
  });
  const source = (namespaceSelector?: ApiServerSourceManifest['spec']['namespaceSelector']): ApiServerSourceManifest => ({
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ApiServerSource',
    metadata: { name: 's', namespace: 'home' },
    spec: {
      mode: 'Resource',
      resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }],
      sink: { uri: 'http://x' },
      ...(namespaceSelector === undefined ? {} : { namespaceSelector }),
    },
  });
  it("watches only the source's namespace without a namespaceSelector, all with an empty one, the matching ones otherwise", async () => {
    expect(await adapterConfigFor(source()))
      .to.include({ allNamespaces: false })
      .and.to.deep.include({ namespaces: ['home'] });
    expect(await adapterConfigFor(source({}))).to.deep.include({ allNamespaces: true, namespaces: [] });
    const asked: string[] = [];
    const cfg = await adapterConfigFor(source({ matchLabels: { team: 'a' } }), (sel) => {
      asked.push(sel);
      return Promise.resolve(['z', 'b']);
    });
    expect(asked).to.deep.equal(['team=a']);
    expect(cfg).to.deep.include({ allNamespaces: false, namespaces: ['b', 'z'] });
  });
});
