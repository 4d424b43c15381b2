"""Discovering and switching on integrations (entry-point group ``obs.integrations``).

The host requirement is read from installed metadata (the integration distribution's
``instruments`` extra) and checked against the installed host before the entry point is
imported, so a missing or too-old host is a one-line message, never an import traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, PackageNotFoundError, entry_points, version
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement

from obs._diagnostics import logger, once
from obs._integration import Integration
from obs._options import OptionsError
from obs._runtime import runtime
from obs._settings import env_list

GROUP = "obs.integrations"

Status = Literal[
    "instrumented", "available", "missing", "incompatible", "disabled", "broken", "conflict"
]


@dataclass(frozen=True)
class IntegrationInfo:
    """What ``obs.integrations()`` reports about one integration."""

    name: str
    status: Status
    detail: str
    distribution: str | None = None
    requirement: str | None = None

    @property
    def usable(self) -> bool:
        return self.status in ("instrumented", "available")


#: What ``configure(instrument=...)`` accepts.
InstrumentOption = bool | str | Sequence[str] | Mapping[str, Mapping[str, Any]] | None


def _declared_requirement(ep: EntryPoint) -> str | None:
    dist = ep.dist
    if dist is None:
        return None
    for raw in dist.requires or ():
        try:
            req = Requirement(raw)
        except InvalidRequirement:
            continue
        marker = req.marker
        if (
            marker
            and marker.evaluate({"extra": "instruments"})
            and not marker.evaluate({"extra": ""})
        ):
            return str(req).split(";")[0].strip()
    return None


def check_requirement(requirement: str) -> tuple[Status, str]:
    """Is the host installed in a version the integration supports?"""
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return "broken", f"invalid host requirement {requirement!r}"
    try:
        installed = version(req.name)
    except PackageNotFoundError:
        return "missing", f"{req.name} is not installed (needs {requirement})"
    if req.specifier and not req.specifier.contains(installed, prereleases=True):
        return (
            "incompatible",
            f"{req.name} {installed} is installed; the integration needs {requirement}",
        )
    return "available", f"{req.name} {installed}"


def _entry_points() -> dict[str, list[EntryPoint]]:
    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, []).append(ep)
    return found


def _dist_name(ep: EntryPoint) -> str | None:
    return ep.dist.name if ep.dist is not None else None


def _load(name: str, ep: EntryPoint) -> Integration | str:
    """The integration instance, or an error message."""
    loaded = runtime().loaded
    with runtime().lock:
        existing = loaded.get(name)
        if existing is not None:
            return existing
        try:
            obj = ep.load()
            instance = obj() if isinstance(obj, type) else obj
            if not isinstance(instance, Integration):
                return f"entry point {ep.value} is not an obs.Integration"
        except Exception as exc:
            return f"entry point {ep.value} failed to load: {type(exc).__name__}: {exc}"
        loaded[name] = instance
        return instance


def _inspect(
    name: str, eps: list[EntryPoint], load: bool
) -> tuple[IntegrationInfo, Integration | None]:
    dists = sorted({d for d in (_dist_name(ep) for ep in eps) if d})
    if len({ep.value for ep in eps}) > 1:
        detail = f"provided by several distributions ({', '.join(dists)}); uninstall all but one"
        return IntegrationInfo(name, "conflict", detail, ", ".join(dists)), None
    ep = eps[0]
    dist = _dist_name(ep)
    requirement = _declared_requirement(ep)
    if name in env_list("OBS_DISABLED_INTEGRATIONS"):
        return IntegrationInfo(
            name, "disabled", "listed in OBS_DISABLED_INTEGRATIONS", dist, requirement
        ), None
    if requirement is not None:
        status, detail = check_requirement(requirement)
        if status != "available":
            return IntegrationInfo(name, status, detail, dist, requirement), None
    if not load and name not in runtime().loaded:
        detail = "ready" if requirement is None else detail
        return IntegrationInfo(name, "available", detail, dist, requirement), None
    loaded = _load(name, ep)
    if isinstance(loaded, str):
        return IntegrationInfo(name, "broken", loaded, dist, requirement), None
    if requirement is None and loaded.requirement:
        requirement = loaded.requirement
        status, detail = check_requirement(requirement)
        if status != "available":
            return IntegrationInfo(name, status, detail, dist, requirement), None
    if loaded.is_instrumented:
        waiting = loaded.waiting_for
        if waiting is not None:
            detail = f"{detail}; switches on when the app imports {waiting}"
        return IntegrationInfo(
            name, "instrumented", detail if requirement else "instrumented", dist, requirement
        ), loaded
    return IntegrationInfo(
        name, "available", detail if requirement else "ready", dist, requirement
    ), loaded


def integrations() -> list[IntegrationInfo]:
    """Every integration found through entry points, with its state."""
    return [_inspect(name, eps, load=True)[0] for name, eps in sorted(_entry_points().items())]


def get(name: str) -> Integration | None:
    """The loaded integration instance called ``name`` (None if not loaded or unusable)."""
    eps = _entry_points().get(name)
    if not eps:
        return None
    return _inspect(name, eps, load=True)[1]


def _report(info: IntegrationInfo, explicit: bool) -> None:
    # Asked for by name: always say why not. Found by auto-discovery: a missing host is
    # the normal case (the user did not install it) and stays quiet; anything else is said once.
    if info.status == "missing" and not explicit:
        logger.debug("obs: integration %r skipped: %s", info.name, info.detail)
        return
    if info.status == "disabled" and not explicit:
        logger.info("obs: integration %r disabled by OBS_DISABLED_INTEGRATIONS", info.name)
        return
    if once(f"registry:{info.name}:{info.status}:{info.detail}"):
        logger.warning(
            "obs: integration %r not instrumented (%s): %s", info.name, info.status, info.detail
        )


def _check_names(where: str, names: tuple[object, ...]) -> None:
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{where}: names takes str, not {name!r} ({type(name).__name__})")


def instrument(*names: str, **options: Any) -> list[IntegrationInfo]:
    """Switch on the named integrations (all usable ones when none is named)."""
    _check_names("obs.instrument", names)
    found = _entry_points()
    explicit = bool(names)
    wanted: Iterable[str] = names or sorted(found)
    results = []
    for name in wanted:
        eps = found.get(name)
        if not eps:
            known = ", ".join(sorted(found)) or "none"
            info = IntegrationInfo(
                name,
                "missing",
                f"no obs integration named {name!r} is installed (installed: {known})",
            )
            _report(info, explicit=True)
            results.append(info)
            continue
        info, instance = _inspect(name, eps, load=True)
        if instance is None:
            _report(info, explicit)
            results.append(info)
            continue
        results.append(_switch_on(instance, info, options))
    return results


def _switch_on(
    instance: Integration, info: IntegrationInfo, options: Mapping[str, Any]
) -> IntegrationInfo:
    name = info.name
    try:
        instance.instrument(**options)
    except OptionsError as exc:
        # The user's mistake, not the integration's: one line, no traceback.
        logger.warning("obs: integration %r not instrumented: %s", name, exc)
        return IntegrationInfo(name, "broken", str(exc), info.distribution, info.requirement)
    except Exception as exc:
        logger.warning(
            "obs: integration %r failed to instrument: %s: %s",
            name,
            type(exc).__name__,
            exc,
            exc_info=True,
        )
        return IntegrationInfo(
            name,
            "broken",
            f"instrument() failed: {type(exc).__name__}: {exc}",
            info.distribution,
            info.requirement,
        )
    return IntegrationInfo(name, "instrumented", info.detail, info.distribution, info.requirement)


def instrument_option(option: InstrumentOption) -> tuple[str, ...]:
    """``configure(instrument=...)``: True (all), a name, names, or ``{name: options}``."""
    if option is None or option is False:
        return ()
    if option is True:
        results = instrument()
    elif isinstance(option, str):  # one name, not its letters
        results = instrument(option)
    elif isinstance(option, Mapping):
        results = []
        for name, options in option.items():
            results.extend(instrument(name, **dict(options or {})))
    else:
        results = instrument(*option)
    return tuple(r.name for r in results if r.status == "instrumented")


def uninstrument(*names: str) -> None:
    """Switch off the named integrations (every instrumented one when none is named).

    "Every" means every one that is instrumented however it was switched on: through the
    registry, by hand, or by ``opentelemetry-instrument``.
    """
    _check_names("obs.uninstrument", names)
    state = runtime()
    with state.lock:
        known = {**state.loaded, **state.instrumented}
        targets = [known[n] for n in (names or list(known)) if n in known]
    for integration in targets:
        try:
            integration.uninstrument()
        except Exception:
            logger.warning(
                "obs: integration %r failed to uninstrument", integration.name, exc_info=True
            )
