"""What breaks and how: faults, the balancer's runtime API and config, and the doors to
Docker (SDK) and compose (CLI). Every side effect on the stack goes through this package."""
