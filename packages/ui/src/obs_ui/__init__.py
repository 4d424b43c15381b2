"""obs-ui: a local, read-only web app over the obs store (``obs ui``).

``UIServer(store_path).start_in_thread()`` serves it from Python (tests, notebooks).
"""

from obs_ui._server import UIServer

__all__ = ["UIServer"]
