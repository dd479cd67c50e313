"""The only code that changes the kernel: namespaces, netlink, iptables, conntrack, ARP,
sysctls, processes."""
