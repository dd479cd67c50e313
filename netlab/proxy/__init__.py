"""kube-proxy: Services + endpoints → the iptables rules text for one node (pure).

The node layer applies the payload with iptables-restore inside the node's namespace.
"""

from netlab.proxy.render import render_rules, service_chains
from netlab.proxy.service_rules import port_rules
from netlab.proxy.types import Endpoint, FilterRules, ProxyConfig, ServicePort

__all__ = ["Endpoint", "FilterRules", "ProxyConfig", "ServicePort", "port_rules", "render_rules", "service_chains"]
