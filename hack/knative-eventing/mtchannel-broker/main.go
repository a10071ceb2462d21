// Command mtchannel-broker is Knative Eventing's MTChannelBasedBroker controller (knative.dev/eventing
// cmd/mtchannel_broker) for the local stack, with sharedmain's :8080 health probes disabled.
package main

import (
	filteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"

	"knative.dev/eventing/pkg/auth"
	"knative.dev/eventing/pkg/reconciler/broker"
	mttrigger "knative.dev/eventing/pkg/reconciler/broker/trigger"
)

func main() {
	ctx := signals.NewContext()
	ctx = filteredfactory.WithSelectors(ctx, auth.OIDCLabelSelector)
	ctx = sharedmain.WithHealthProbesDisabled(ctx)
	sharedmain.MainWithContext(ctx, "mt-broker-controller", broker.NewController, mttrigger.NewController)
}
