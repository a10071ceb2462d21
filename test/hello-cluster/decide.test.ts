// The template function's decisions, pure (its effects run end to end in test/e2e/hello-cluster.test.ts).
import { expect } from 'chai';
import { CloudEvent } from 'cloudevents';
import { GREETED_CONDITION, greeting, targetOf } from '../../functions/hello-cluster/src/decide.js';

const event = (type: string, kind: string, data: object = {}): CloudEvent<unknown> =>
  new CloudEvent({ type, source: 'https://127.0.0.1/apis/v1', kind, name: 'acid-a', namespace: 'ns', data });

describe('hello-cluster: decisions', () => {
  it('greets a postgresql that was added, and nothing else', () => {
    expect(targetOf(event('dev.knative.apiserver.resource.add', 'postgresql'))).to.deep.equal({
      scope: 'cluster',
      namespace: 'ns',
      name: 'acid-a',
    });
    expect(targetOf(event('dev.knative.apiserver.resource.update', 'postgresql')).scope).to.equal('ignore');
    expect(targetOf(event('dev.knative.apiserver.resource.add', 'Pod')).scope).to.equal('ignore');
    expect(targetOf(new CloudEvent({ type: 'dev.knative.sources.ping', source: 's' })).scope).to.equal('ignore');
  });

  it('says hello to the owning team', () => {
    expect(greeting('acid')).to.deep.equal({
      type: GREETED_CONDITION,
      status: 'True',
      reason: 'Greeted',
      message: 'hello, cluster of team acid',
    });
    expect(greeting(undefined).message).to.equal('hello, cluster');
  });
});
