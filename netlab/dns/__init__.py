"""netlab's CoreDNS: the cluster DNS server, run as the `kube-system/coredns` pod.

`records` is the snapshot the reconcile loop writes, `resolver` answers queries from it (pure),
`server` puts it on UDP and TCP port 53; `python -m netlab.dns` runs it.
"""
