// Command imc-controller is Knative Eventing's InMemoryChannel controller (knative.dev/eventing
// cmd/in_memory/channel_controller) for the local stack: the reconciler only — no admission webhooks
// (nothing calls them locally; hack/knative-webhook applies Knative's defaults instead) — with
// sharedmain's :8080 health probes disabled.
package main

import (
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"

	inmemorychannel "knative.dev/eventing/pkg/reconciler/inmemorychannel/controller"
)

func main() {
	ctx := sharedmain.WithHealthProbesDisabled(signals.NewContext())
	sharedmain.MainWithContext(ctx, "inmemorychannel-controller", inmemorychannel.NewController)
}
