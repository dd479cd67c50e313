"""kube-proxy: Services + endpoints → the iptables rules text for one node (pure), and
`sync.py`, which loads it with iptables-restore inside each node's namespace.
"""

from netlab.policy.model import FilterRules
from netlab.proxy.render import render_rules
from netlab.proxy.service_rules import port_rules, service_chains
from netlab.proxy.types import Endpoint, ProxyConfig, ServicePortInfo

__all__ = ["Endpoint", "FilterRules", "ProxyConfig", "ServicePortInfo", "port_rules", "render_rules", "service_chains"]
