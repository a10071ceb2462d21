// Command controller is Knative Eventing's eventing controller (knative.dev/eventing cmd/controller)
// for the local stack: the same reconcilers, with sharedmain's health probes disabled, because every
// sharedmain process binds :8080 for them and exits when another holds it.
package main

import (
	kubefilteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"

	"knative.dev/eventing/pkg/apis/sinks"
	"knative.dev/eventing/pkg/auth"
	"knative.dev/eventing/pkg/certificates"
	eventingfilteredfactory "knative.dev/eventing/pkg/client/injection/informers/factory/filtered"
	"knative.dev/eventing/pkg/eventingtls"
	"knative.dev/eventing/pkg/reconciler/apiserversource"
	"knative.dev/eventing/pkg/reconciler/channel"
	"knative.dev/eventing/pkg/reconciler/containersource"
	"knative.dev/eventing/pkg/reconciler/eventpolicy"
	"knative.dev/eventing/pkg/reconciler/eventtransform"
	"knative.dev/eventing/pkg/reconciler/eventtype"
	integrationsink "knative.dev/eventing/pkg/reconciler/integration/sink"
	integrationsource "knative.dev/eventing/pkg/reconciler/integration/source"
	"knative.dev/eventing/pkg/reconciler/jobsink"
	"knative.dev/eventing/pkg/reconciler/parallel"
	"knative.dev/eventing/pkg/reconciler/pingsource"
	"knative.dev/eventing/pkg/reconciler/requestreply"
	"knative.dev/eventing/pkg/reconciler/sequence"
	sourcecrd "knative.dev/eventing/pkg/reconciler/source/crd"
	"knative.dev/eventing/pkg/reconciler/subscription"
	sugarnamespace "knative.dev/eventing/pkg/reconciler/sugar/namespace"
	sugartrigger "knative.dev/eventing/pkg/reconciler/sugar/trigger"
)

func main() {
	ctx := signals.NewContext()
	ctx = kubefilteredfactory.WithSelectors(ctx,
		auth.OIDCLabelSelector,
		eventingtls.TrustBundleLabelSelector,
		sinks.JobSinkJobsLabelSelector,
		eventtransform.JsonataResourcesSelector,
		certificates.SecretLabelSelectorPair,
		requestreply.SecretLabelSelector,
	)
	ctx = eventingfilteredfactory.WithSelectors(ctx, eventtransform.JsonataResourcesSelector)
	ctx = sharedmain.WithHealthProbesDisabled(ctx)
	sharedmain.MainWithContext(ctx, "controller",
		channel.NewController,
		subscription.NewController,
		eventtype.NewController,
		eventpolicy.NewController,
		parallel.NewController,
		sequence.NewController,
		apiserversource.NewController,
		pingsource.NewController,
		containersource.NewController,
		integrationsource.NewController,
		sourcecrd.NewController,
		jobsink.NewController,
		integrationsink.NewController,
		sugarnamespace.NewController,
		sugartrigger.NewController,
		eventtransform.NewController,
		requestreply.NewController,
	)
}
