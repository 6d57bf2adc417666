"""Universal actions: every operation on an object, discoverable, typed and executable by name.

A domain registers its object type and its actions in its own `actions.py` (imported by
`app/main.py`); this package holds the registry, the routes that list and run actions, the
idempotency keys that make a retried request safe, and the README catalogue generator.
Actions call the domains' services, so versions and events follow as for any other write.
"""

from app.actions.base import ActionContext, BaseAction, ObjectType
from app.actions.registry import ActionRegistry, RegistryError, action_registry

__all__ = ["ActionContext", "ActionRegistry", "BaseAction", "ObjectType", "RegistryError", "action_registry"]
