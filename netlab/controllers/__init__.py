"""kube-controller-manager's part: deployment, replicaset, statefulset, endpoints, node
lifecycle, garbage collector, and the scheduler — pure plans plus the steps that write them."""
