"""The kubelet with its CNI part: pod sandboxes (netns, veth, IP), containers, probes,
restarts with back-off, pod files, status, exec and logs."""
