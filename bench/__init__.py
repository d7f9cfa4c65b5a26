"""`make bench`: throughput, latency and memory of the gateway beside a bare echo component and biboumi."""
