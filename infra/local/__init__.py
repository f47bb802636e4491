"""The local stack: template.yaml served on a laptop by moto, an HTTP gateway and trigger runners.

`crm local up` (and `make up`) starts it; `infra.local.client.LocalClient` drives it over HTTP.
"""
