"""Salesforce's Pub/Sub API (``eventbus.v1``): the vendor's ``pubsub_api.proto`` and the stubs grpcio-tools generated from it.

Neutral ground: both the Salesforce sandbox (a server) and the adapter's change-event subscriber (a
client) speak this interface; the .proto is Salesforce's published contract, not a reading of its
documentation, so sharing it does not let one misunderstanding hide in both sides (see README.md).
"""

from connector.vendor.salesforce_pubsub import pubsub_api_pb2 as pb2
from connector.vendor.salesforce_pubsub import pubsub_api_pb2_grpc as pb2_grpc

__all__ = ["pb2", "pb2_grpc"]
