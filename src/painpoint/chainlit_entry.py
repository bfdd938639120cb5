"""The file `chainlit run` loads.

Chainlit executes it outside `sys.modules`, so the handlers live in a real module (:mod:`painpoint.app`) and
importing it here registers them.
"""

import painpoint.app  # noqa: F401
