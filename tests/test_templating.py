"""Admin-edited templates cannot run away, read store objects, or reach Python internals."""

from __future__ import annotations

import time

import pytest

from gateway.templating import RenderError, render_source


def test_plain_values_render() -> None:
    assert render_source("Ref {{ ref }} by {{ when | longdate }}", {"ref": "CS-2026-000001",
                         "when": __import__("datetime").date(2026, 12, 2)}) == "Ref CS-2026-000001 by Wednesday 2 December 2026"


def test_store_objects_are_refused_before_rendering() -> None:
    class Case:
        reference = "CS-1"

    with pytest.raises(TypeError):
        render_source("{{ case.reference }}", {"case": Case()})


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ x.__class__ }}",
        "{{ undefined_name }}",
    ],
)
def test_unsafe_or_unknown_names_fail_cleanly(source: str) -> None:
    with pytest.raises(RenderError):
        render_source(source, {"x": "text"})


def test_a_silent_runaway_loop_is_stopped_by_the_time_limit() -> None:
    started = time.monotonic()
    with pytest.raises(RenderError, match="over"):
        render_source("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", {})
    assert time.monotonic() - started < 10


def test_output_is_bounded() -> None:
    with pytest.raises(RenderError, match="output over"):
        render_source("{% for i in range(100000) %}{{ 'xxxxxxxxxx' }}{% endfor %}", {})
