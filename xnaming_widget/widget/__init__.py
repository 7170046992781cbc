"""The naming widget: sort a category's activations into named concepts (SPEC §5).

``NamingWidget`` is the anywidget shown in JupyterLab; ``NamingState`` holds the naming and
its undo history in pure Python; errors say what was wrong and how to fix it.
"""
from .autosave import AutosaveConflictError
from .naming_widget import NamingWidget
from .state import NamingError, NamingState

__all__ = ["NamingWidget", "NamingState", "NamingError", "AutosaveConflictError"]
