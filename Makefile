# The two commands of the README. Both bootstrap first (idempotent, cached).
.PHONY: demo test bootstrap crds

bootstrap:
	hack/bootstrap.sh

demo: bootstrap
	hack/demo.sh $(if $(CI),--ci,)

test: bootstrap
	hack/test.sh

crds:
	hack/update-crds.sh
