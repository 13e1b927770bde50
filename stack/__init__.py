"""The reference stack's own assets: Dockerfiles, the app service and the balancer config.

Shipped as package data so an installed `drill` can build images and start stacks
without the source tree.
"""
