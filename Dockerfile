# syntax=docker/dockerfile:1
# One image for every pgfn function. The build stage installs the workspace and bundles each function
# (functions/<fn>/src/main.ts) with esbuild into <fn>.cjs plus <fn>.lazy/ (packages loaded only on first
# use, ADR 0011), the launcher <fn>.mjs and <fn>.jsc, V8's code cache made by a training run (ADR 0117:
# both stages must use the same NODE_IMAGE for the cache to be accepted); the runtime stage is Node and
# those files only — no node_modules, no TypeScript, no shell needed at run time.
#
#   docker build -t pgfn:0.1.0 .                                  # every function with a main.ts
#   docker build --build-arg FUNCTIONS="reconcile" -t pgfn-reconcile .
#   docker run -e PORT=8080 -e KUBECONFIG=/kube/config -v ~/.kube:/kube pgfn:0.1.0 /app/dist/reconcile.mjs
#   (the ENTRYPOINT is `node --use-openssl-ca`, ADR 0143)
#
# Knative Services pick a function with `args: [/app/dist/<fn>.mjs]` (knative/functions/*.yaml).
# The same bundling runs in the tests (shared/pipeline/src/bundle.ts, test/pipeline/cold-start.test.ts).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
COPY shared shared
COPY functions functions
RUN npm ci --no-audit --no-fund --loglevel=error
COPY hack hack
COPY tsconfig.json ./
# Space-separated function names; empty bundles every function that has a src/main.ts.
ARG FUNCTIONS=""
# The web UI (shared/ui, knative/ui) is bundled the same way into ui.mjs.
RUN node --import tsx shared/pipeline/src/bundle-cli.ts /out/dist ${FUNCTIONS} \
 && node --import tsx hack/bundle-ui.ts /out/dist \
 && rm -f /out/dist/*.map

FROM ${NODE_IMAGE}
# Functions trust the system's certificate directory (OpenSSL looks a CA up by hash when a peer needs
# it) instead of Node's bundled roots, whose parse costs ~20 ms of CPU at a cold start's first TLS
# context (ADR 0143). The slim image has no ca-certificates; SSL_CERT_FILE stays unset (OpenSSL would
# parse that whole file at the first context). FUNCTION_NODE_ARGS/FUNCTION_TRUST_ENV in
# shared/pipeline/src/launcher.ts say the same for local runs and the bench.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production SSL_CERT_DIR=/etc/ssl/certs
WORKDIR /app
COPY --from=build /out/dist /app/dist
# The node image's unprivileged user, by number: Kubernetes can only verify runAsNonRoot for a numeric
# user, and the Knative Services set runAsNonRoot.
USER 1000:1000
# Knative sets PORT (8080 by default); shared/fn-runtime listens on it.
EXPOSE 8080
ENTRYPOINT ["node", "--use-openssl-ca"]
CMD ["/app/dist/reconcile.mjs"]
