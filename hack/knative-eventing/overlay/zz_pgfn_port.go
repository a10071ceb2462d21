// Added to knative.dev/eventing/pkg/reconciler/inmemorychannel/dispatcher by a build overlay
// (hack/build-bins.sh): the dispatcher's ports from IMC_DISPATCHER_PORT(_HTTPS), upstream's constants
// otherwise.
package dispatcher

import (
	"os"
	"strconv"
)

func pgfnPort(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
