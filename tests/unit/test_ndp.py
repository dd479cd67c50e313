"""The unsolicited neighbour advertisement MetalLB's speaker sends for an IPv6 address
(kernel/ndp.py), checked against the kernel's own: Linux sent this frame for fd00:99::200 on a
veth with MAC 02:00:00:00:00:aa when the address was added with `ndisc_notify` on, and tcpdump
printed it as `fd00:99::200 > ff02::1: [icmp6 sum ok] ICMP6, neighbor advertisement, length 32,
tgt is fd00:99::200, Flags [override]`."""

from __future__ import annotations

from ipaddress import IPv6Address

from netlab.kernel import ndp

KERNEL_CAPTURE = bytes.fromhex(
    "3333000000010200000000aa86dd6000000000203afffd00009900000000000000000000"
    "0200ff020000000000000000000000000001880054c220000000fd000099000000000000"
    "00000000020002010200000000aa"
)


def test_the_advertisement_is_byte_for_byte_the_one_linux_sends():
    assert ndp.frame("02:00:00:00:00:aa", IPv6Address("fd00:99::200")) == KERNEL_CAPTURE


def test_the_checksum_of_the_kernels_frame_checks_out():
    icmp = KERNEL_CAPTURE[54:]
    src, dst = IPv6Address(KERNEL_CAPTURE[22:38]), IPv6Address(KERNEL_CAPTURE[38:54])
    assert (src, dst) == (IPv6Address("fd00:99::200"), ndp.ALL_NODES)
    assert ndp.checksum(src, dst, icmp[:2] + b"\0\0" + icmp[4:]) == int.from_bytes(icmp[2:4], "big") == 0x54C2
    assert ndp.checksum(src, dst, icmp) == 0  # a message with its checksum in sums to 0xffff


def test_another_address_and_mac_change_only_their_fields_and_the_checksum():
    frame = ndp.frame("02:11:22:33:44:55", IPv6Address("fd00:172:31:255::201"))
    assert frame[:6] == bytes.fromhex("333300000001") and frame[6:12] == bytes.fromhex("021122334455")
    assert frame[20] == 58 and frame[21] == 255  # ICMPv6, hop limit 255
    icmp = frame[54:]
    assert icmp[0] == 136 and icmp[4] == 0x20 and IPv6Address(icmp[8:24]) == IPv6Address("fd00:172:31:255::201")
    assert icmp[24:] == bytes.fromhex("0201021122334455")
    assert ndp.checksum(IPv6Address(frame[22:38]), ndp.ALL_NODES, icmp) == 0
