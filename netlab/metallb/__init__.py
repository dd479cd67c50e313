"""MetalLB: the controller allocating LoadBalancer IPs from the pool, and the L2 speaker."""
