"""The naming domain: rules, operations, the in-memory state, the file and the table.

One home for everything a naming is: :mod:`.rules` (places, statuses, sizes, names, errors),
:mod:`.operations` (the operation table the widget and the browser share), :mod:`.state`
(``NamingState``: operations, undo, redo), :mod:`.document` (the naming file and the long
naming table), :mod:`.journal` and :mod:`.lock` (the autosave file), :mod:`.activation_table`
(the checked activation table a naming refers to) and :mod:`.export_js` (the rules for the
browser).
"""
from .activation_table import activation_table, check_fingerprint, fingerprint_of, significant_ids
from .document import (SCHEMA, SCHEMA_VERSION, TABLE_COLUMNS, naming_doc, naming_table, read_naming_file,
                       validate_naming_doc)
from .journal import AutosaveConflictError, NamingJournal
from .lock import NamingFileLockedError
from .operations import OPERATIONS
from .rules import (MAX_NAME_LENGTH, MIN_CONCEPT_SIZE, NAMED, SPECIAL_PLACES, STATUSES, TRASH, UNLABELED,
                    NamingError, NamingFileError, clean_concept_name, name_key)
from .state import NamingState, now_iso

__all__ = ["activation_table", "check_fingerprint", "fingerprint_of", "significant_ids", "SCHEMA",
           "SCHEMA_VERSION", "TABLE_COLUMNS", "naming_doc", "naming_table", "read_naming_file",
           "validate_naming_doc", "AutosaveConflictError", "NamingJournal", "NamingFileLockedError",
           "OPERATIONS", "MAX_NAME_LENGTH", "MIN_CONCEPT_SIZE", "NAMED", "SPECIAL_PLACES", "STATUSES", "TRASH",
           "UNLABELED", "NamingError", "NamingFileError", "clean_concept_name", "name_key", "NamingState",
           "now_iso"]
