// Command sinkbinding is the SinkBinding reconciler of Knative Eventing's webhook binary
// (knative.dev/eventing cmd/webhook) without its admission webhooks, for the local stack: no webhook
// can be reached by the local API server, but the reconciler alone resolves each SinkBinding's sink and
// patches K_SINK (and K_CE_OVERRIDES) into the subjects that exist, which is what pgfn's functions need.
// sharedmain's health probes are disabled, as in the other thin mains (every sharedmain process binds :8080).
package main

import (
	kubefilteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"

	"knative.dev/eventing/pkg/auth"
	"knative.dev/eventing/pkg/eventingtls"
	"knative.dev/eventing/pkg/reconciler/sinkbinding"
)

func main() {
	ctx := signals.NewContext()
	ctx = kubefilteredfactory.WithSelectors(ctx, auth.OIDCLabelSelector, eventingtls.TrustBundleLabelSelector)
	ctx = sharedmain.WithHealthProbesDisabled(ctx)
	sharedmain.MainWithContext(ctx, "sinkbinding", sinkbinding.NewController)
}
