// Wrapper module for the ACM PolicyGenerator kustomize plugin. Its module path is
// open-cluster-management.io/policy-generator-plugin (github.com/stolostron/policy-generator-plugin is a
// fork with the same go.mod module line). testhub/build-generators.sh reads the three comment lines below.
//
// pin: open-cluster-management.io/policy-generator-plugin@v1.16.0
// build: PolicyGenerator=cmd/PolicyGenerator
// data:
//
// `testhub/build-generators.sh --update` resolves the pin, copies the replace directives of the upstream
// go.mod and adds the package as a tool dependency; commit the resulting go.mod and go.sum.
module ztp-sno-expand.local/ztp-generators/policy-generator-plugin

go 1.25.0
