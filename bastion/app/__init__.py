"""Where Bastion is put together: the runtime (runtime.py), the composition root that wires every
store and service (wiring.py), and the ASGI apps around them (asgi.py). Only this package builds
concrete stores and the bus.
"""

from bastion.app.asgi import create_app, create_serving_app
from bastion.app.runtime import Runtime

__all__ = ["Runtime", "create_app", "create_serving_app"]
