// Wrapper module for the SiteConfig generator (ztp/siteconfig-generator) and the PolicyGenTemplate
// generator (ztp/policygenerator) of the root module github.com/openshift-kni/cnf-features-deploy,
// branch release-4.20. testhub/build-generators.sh reads the three comment lines below.
//
// pin: github.com/openshift-kni/cnf-features-deploy@7191ec0ddb08922364295ef4919f712d4b653fc4
// build: siteconfig-generator=ztp/siteconfig-generator policygenerator=ztp/policygenerator
// data: ztp/source-crs ztp/source-crs/extra-manifest
//
// `testhub/build-generators.sh --update` resolves the pin to its pseudo-version, copies the replace
// directives of the upstream root go.mod (its vendor/ directory is not used in module mode) and adds the
// two packages as tool dependencies; commit the resulting go.mod and go.sum.
module ztp-sno-expand.local/ztp-generators/cnf-features-deploy

go 1.24
