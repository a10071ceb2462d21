// Which images of a user's Knative Service the function supervisor can run here (local-images.ts).
import { expect } from 'chai';
import { localProcessFor } from '@pgfn/pipeline';

describe('localProcessFor', () => {
  const image = 'gcr.io/knative-releases/knative.dev/eventing/cmd/event_display';

  it("runs Knative's event_display, untagged, tagged or by digest, as hack/event-display.ts", () => {
    for (const ref of [image, `${image}:v1.16`, `${image}@sha256:${'a'.repeat(64)}`, `${image}:latest@sha256:${'b'.repeat(64)}`]) {
      expect(localProcessFor(ref)?.args?.at(-1), ref).to.match(/hack\/event-display\.ts$/);
    }
  });

  it('has no local equivalent for any other image', () => {
    expect(localProcessFor('docker.io/library/nginx:1.27')).to.equal(undefined);
    expect(localProcessFor(`${image}-fork`)).to.equal(undefined);
    expect(localProcessFor('gcr.io/knative-releases/knative.dev/eventing/cmd')).to.equal(undefined);
  });
});
