"""``obs._records.NamedTuple``: what ``typing.NamedTuple`` gives the read path's records."""

from __future__ import annotations

import subprocess
import sys

from obs._records import NamedTuple
from obs._store._reader import StoredSpan, TraceSummary
from obs._store._schema import Migration


class Point(NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str | None = None

    @property
    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)

    def moved(self, dx: int) -> Point:
        return self._replace(x=self.x + dx)


def test_fields_defaults_methods_and_tuple_behaviour() -> None:
    p = Point(3)
    assert p == (3, 0, None)
    assert Point._fields == ("x", "y", "label")
    assert p.norm1 == 3
    assert p.moved(2) == Point(5, 0, None)
    assert Point.__doc__ == "A point."
    assert Point.__qualname__ == "Point"
    assert Point.__module__ == __name__
    assert isinstance(p, tuple)


def test_the_store_records_keep_their_shape() -> None:
    assert TraceSummary._fields[-1] == "root_status_code"
    assert TraceSummary._field_defaults == {"root_status_code": None}
    assert StoredSpan._field_defaults == {"status_code": None}
    assert Migration("m").statements == ()
    assert Migration("m").apply is None


def test_the_store_commands_do_not_import_typing() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['obs', 'traces', '--db', '/nonexistent/obs-store.db']\n"
        "from obs._cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('typing' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr
