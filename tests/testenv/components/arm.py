"""The ARM test double (HTTPS, ARM-shaped responses). (being written)"""

from .base import Component


class ArmDouble(Component):
    name = "arm"

    def start(self, ctx):
        raise NotImplementedError("ARM test double: not written yet")

    def is_running(self, ctx, state):
        return False
