"""`netlab trace` (every hop of a packet, from the live kernel state) and `capture` (tcpdump)."""
