"""Delivery of notifications to HTTP push gateways (Push Gateway API): a durable
outbound queue fed by the ``push_actions`` read model (``sender.py``), the
request body (``payload.py``) and the guarded HTTP call (``gateway.py``)."""
