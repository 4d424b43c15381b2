"""``python -m obs._cli``: the ``obs`` command where its console script is not on the PATH.

The helpdesk example prints its traces this way (``sys.executable -m obs._cli trace ...``), so
it works from any interpreter that has obs installed.
"""

from __future__ import annotations

import sys

from obs._cli import main

sys.exit(main())
