"""Capture: the tcpdump command line it runs inside the namespace."""

from netlab.trace.capture import tcpdump_argv


def test_a_pcap_capture_flushes_each_packet_and_keeps_the_filter():
    argv = tcpdump_argv("/usr/bin/tcpdump", "eth0", "/tmp/a.pcap", 20, ["tcp", "port", "80"])
    assert argv == ["/usr/bin/tcpdump", "-n", "-i", "eth0", "-Z", "root", "-U", "-w", "/tmp/a.pcap", "-c", "20", "tcp", "port", "80"]


def test_printing_capture_has_no_write_options():
    assert tcpdump_argv("tcpdump", "cni0", None, None, []) == ["tcpdump", "-n", "-i", "cni0", "-Z", "root"]
