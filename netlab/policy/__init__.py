"""The NetworkPolicy agent: policy semantics, filter chains per node (loaded by kube-proxy's
sync in the same restore), explain, describe, and `policy matrix`'s real probes."""
