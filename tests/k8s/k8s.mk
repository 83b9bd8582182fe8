# --- tests/k8s: deploy/k8s against the Kubernetes schemas and the daemon --
TESTS += tests/k8s/k8s.sh
EXTRA_DIST += tests/k8s/k8s.sh tests/k8s/manifests.test.mjs
