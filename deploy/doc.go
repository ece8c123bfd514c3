// Package deploy holds the files that run a weir program outside a developer's machine,
// and the test that keeps them true to the program.
//
// kubernetes/ is a StatefulSet and a headless Service that run one weir program as a
// cluster, one process per pod (see kubernetes/README.md). Its test decodes every manifest
// strictly into the Kubernetes API types and checks that the names, ports and counts agree
// with each other and that every WEIR_ variable and flag given to the container is one
// that run.Main reads, so that a renamed flag or a misspelled variable fails here rather
// than being ignored in a running cluster.
//
// example/ is the program the manifests run by default, a flow that never ends; its tests
// run it as a cluster, rescaled as kubernetes/README.md says and, as root with
// DEPLOY_PODS_TEST=1, as the StatefulSet's pods in network namespaces.
//
// This is a module of its own so that the Kubernetes API modules the test needs are never
// dependencies of weir itself. Run its tests from this directory:
//
//	cd deploy && go test ./...
package deploy
