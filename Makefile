# The two commands of the README. Both bootstrap first (idempotent, cached).
.PHONY: demo test bootstrap crds images kind-smoke kind-e2e

bootstrap:
	hack/bootstrap.sh

demo: bootstrap
	hack/demo.sh $(if $(CI),--ci,)

test: bootstrap
	hack/test.sh

crds:
	hack/update-crds.sh

# The product's images (operator, agent, proxy), built with no registry where none answers.
images: bootstrap
	hack/build-images.sh

# A multi-node kind cluster built on this machine, our images loaded, and a smoke test on it (docs/kind.md).
kind-smoke: bootstrap
	hack/kind-smoke.sh

# The product on that kind cluster: chart, anvil with our contract, mint per node, pings, a revocation's cut.
kind-e2e: bootstrap
	hack/kind-e2e.sh
