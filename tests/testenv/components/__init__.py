"""The services of the local test environment, in start order (later ones may read earlier ones' env)."""

from .azurite import Azurite
from .kube import Kube
from .node import Node
from .neo4j_server import Neo4jServer
from .arm import ArmDouble
from .keyvault import KeyVault

COMPONENTS = {
    "kube": Kube(),
    "node": Node(),
    "neo4j": Neo4jServer(),
    "azurite": Azurite(),
    "arm": ArmDouble(),
    "keyvault": KeyVault(),
}
