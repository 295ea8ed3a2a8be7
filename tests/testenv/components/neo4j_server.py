"""A real Neo4j 5.26 server (Community) from Maven Central on Java 17. (being written)"""

from .base import Component


class Neo4jServer(Component):
    name = "neo4j"

    def start(self, ctx):
        raise NotImplementedError("neo4j test server: not written yet")

    def is_running(self, ctx, state):
        return False
