# --- image: the OCI image from our Debian package (docs/CONTAINERS.md) --
#   make image                      build the .deb from this tree
#                                   (scripts/build-deb), then the image
#   make image IMAGE_DEB=path.deb   the image of that package
# Writes privatemoded-image.tar (an OCI layout with docker's
# manifest.json: podman load, docker load, ctr images import).  Root, and
# the network to deb.debian.org (mmdebstrap); see image/build-image.sh.
IMAGE_DEB =
IMAGE_OUT = privatemoded-image.tar
EXTRA_DIST += image/build-image.sh image/image.mk docs/CONTAINERS.md \
	deploy/k8s/kustomization.yaml deploy/k8s/configmap.yaml \
	deploy/k8s/secret.yaml deploy/k8s/deployment.yaml \
	deploy/k8s/service.yaml deploy/k8s/poddisruptionbudget.yaml \
	deploy/k8s/horizontalpodautoscaler.yaml deploy/k8s/networkpolicy.yaml
image:
	@set -e; deb='$(IMAGE_DEB)'; \
	if [ -z "$$deb" ]; then \
		rm -rf image-deb; mkdir image-deb; \
		$(SHELL) '$(abs_top_srcdir)/scripts/build-deb' image-deb; \
		deb=$$(ls image-deb/privatemoded_*.deb | head -1); \
	fi; \
	$(SHELL) '$(abs_top_srcdir)/image/build-image.sh' "$$deb" '$(IMAGE_OUT)'
CLEANFILES += $(IMAGE_OUT)
.PHONY: image
