"""The file `chainlit run` loads.

Chainlit executes it outside `sys.modules`, so the handlers live in a real module (:mod:`painpoint.web.app`) and
importing it here registers them.
"""

import painpoint.web.app  # noqa: F401
