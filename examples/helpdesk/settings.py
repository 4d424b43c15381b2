"""Settings shared by the helpdesk example's processes (read from the environment)."""

from __future__ import annotations

import os

REDIS_URL = os.environ.get("HELPDESK_REDIS_URL", "redis://127.0.0.1:6379")
#: The Redis list tickets travel through (unique per run when the runner or a test sets it).
TICKETS_LIST = os.environ.get("HELPDESK_TICKETS_LIST", "helpdesk:tickets")
#: The customers service the API looks customers up in (the runner starts one on a free port).
CUSTOMERS_URL = os.environ.get("HELPDESK_CUSTOMERS_URL", "http://127.0.0.1:8001")
MODEL = os.environ.get("HELPDESK_MODEL", "gpt-4o-mini")
PRODUCTS = ("billing", "mobile app", "web app", "api")
