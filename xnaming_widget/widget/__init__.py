"""The naming widget: sort a category's activations into named concepts.

``NamingWidget`` is the anywidget shown in JupyterLab; the naming's rules, state, file and
errors live in :mod:`xnaming_widget.naming` (re-exported here for convenience).
"""
from ..naming import AutosaveConflictError, NamingError, NamingFileLockedError, NamingState
from .naming_widget import NamingWidget

__all__ = ["NamingWidget", "NamingState", "NamingError", "AutosaveConflictError", "NamingFileLockedError"]
