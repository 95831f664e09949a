"""A DES simulator: the gateway contract (``oks/des/openapi.yaml``) served on loopback, for tests and demos.

A test double of an external system: nothing on the product's code path imports this package.
Run it with ``oks simulator``; see :mod:`.app` for the control endpoints and :mod:`.faults` for the
faults it can inject.
"""
