"""The doors to the outside world, each a Protocol with one real implementation and a fake.

The container runtime (Docker engine and compose), the balancer's runtime API, HTTP probes
and the clock. Layers above talk to these Protocols and get plain values back, never SDK
objects, so they run in unit tests against the fakes in doors.fakes.
"""
