"""Local test hub of ztp.sno_expand: etcd, a hub and a spoke kube-apiserver, CRDs, a GitOps repository and a simulator."""
