"""kube-apiserver's part: admission, defaulting, allocation of cluster IPs and NodePorts, the
store, and the `Lab` handle every component is given."""
