"""A UDP client for stale-conntrack stories (tests/integration/test_service_types.py and
test_dual_stack_proxy.py): `python -c SCRIPT ADDRESS PORT` sends netexec's "hostname" query from
a fixed source port, so a second run reuses the first one's conntrack flow, and prints the
answer (or "timeout"). The family follows the address."""

SCRIPT = """
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::" if family == socket.AF_INET6 else "", 40123))
s.settimeout(1.0)
s.sendto(b"hostname", (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recv(100).decode())
except socket.timeout:
    print("timeout")
"""
