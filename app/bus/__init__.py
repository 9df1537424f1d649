"""Bus adapters: in-process (embedded profile) and NATS JetStream (scale profile).

The contract they implement is ``tessera.schema.bus.Bus``.
"""
