"""The lab itself (what kind and kubeadm do for a real cluster): create, delete, reset, the
underlay, node power, and the reconcile step list that calls every component."""
