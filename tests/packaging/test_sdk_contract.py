"""The plugins' non-public singer-sdk uses are declared, exist, and carry the signatures expected.

Non-public: an underscore name, or an override of a method singer-sdk marks `@final` (a typing
marker only, so the override runs, but singer-sdk promises nothing to it). Each package lists
its uses in its `sdk_private.py`. A singer-sdk bump
that renames or re-signs one fails here, not silently in production. The package sources are
scanned with `ast`, so a new private use that is not declared fails too, and so does a declared
use the code no longer makes (the list cannot go stale either way).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import singer_sdk

from tests.conftest import ROOT

PACKAGES = {
    "tap_hubspot_gather": ROOT / "tap-hubspot-gather" / "tap_hubspot_gather",
    "target_gather": ROOT / "target-gather" / "target_gather",
}
DECLARATION_MODULE = "sdk_private"
USE_SITE_COMMENT = "private SDK:"
# How many lines above a use its `# private SDK: why` comment may sit (decorators between).
COMMENT_REACH = 3


@dataclass(frozen=True)
class Use:
    """One private singer-sdk name found in a plugin's source."""

    name: str
    path: Path
    line: int
    comment_line: int  # the first line the `# private SDK:` comment may be on


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _declarations(package: str) -> ModuleType:
    qualified = f"{package}.{DECLARATION_MODULE}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name != qualified:
            raise
        pytest.fail(
            f"{qualified} does not exist: {package} must declare its private singer-sdk uses. "
            f"Add {DECLARATION_MODULE}.py with PRIVATE_SDK_USES (see target_gather's)."
        )


@cache
def _sdk_private_names() -> frozenset[str]:
    """Every underscore name singer-sdk defines: functions, attributes, module globals, modules."""
    names: set[str] = set()
    root = Path(singer_sdk.__file__).parent
    for path in root.rglob("*.py"):
        names.update(part for part in path.with_suffix("").parts if _is_private(part))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return frozenset(n for n in names if _is_private(n))


def _module_name(package: str, path: Path) -> str:
    relative = path.relative_to(PACKAGES[package]).with_suffix("")
    return ".".join((package, *relative.parts)).removesuffix(".__init__")


def _inherited(cls: type) -> set[str]:
    """The private names the class's singer-sdk bases define (methods and `self` attributes)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] == "singer_sdk":
            names |= {n for n in vars(klass) if _is_private(n)}
            names |= {n for n in _instance_attributes(klass) if _is_private(n)}
    return names


def _is_final(decorator: ast.expr) -> bool:
    """`@final`, `@t.final` or `@typing.final`."""
    if isinstance(decorator, ast.Name):
        return decorator.id == "final"
    return isinstance(decorator, ast.Attribute) and decorator.attr == "final"


def _class_sources(cls: type, *, sdk_only: bool = False) -> Iterator[ast.Module]:
    """The parsed source of the class and each base (only singer-sdk's, with `sdk_only`)."""
    for klass in cls.__mro__:
        if klass is object or (sdk_only and klass.__module__.split(".")[0] != "singer_sdk"):
            continue
        try:
            yield ast.parse(inspect.getsource(klass).lstrip())
        except (OSError, TypeError):
            continue


def _final_methods(cls: type) -> set[str]:
    """The methods the class's singer-sdk bases mark `@final`, read from their source."""
    return {
        node.name
        for tree in _class_sources(cls, sdk_only=True)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and any(map(_is_final, node.decorator_list))
    }


def _is_self(node: ast.expr) -> bool:
    """`self.x`, `cls.x` or `super().x`."""
    if isinstance(node, ast.Name):
        return node.id in {"self", "cls"}
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def _class_uses(
    path: Path, node: ast.ClassDef, cls: object, claimed: set[int], own: set[str]
) -> list[Use]:
    """Overrides and `self` accesses of the private names the class's SDK bases define, and
    overrides of the methods they mark `@final`."""
    inherited = _inherited(cls) if inspect.isclass(cls) else set()
    final = _final_methods(cls) if inspect.isclass(cls) else set()
    found: list[Use] = []
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name in inherited | final:
            line = min([item.lineno] + [d.lineno for d in item.decorator_list])
            found.append(Use(item.name, path, item.lineno, line - COMMENT_REACH))
    starts = {  # the override whose own `super()` call is covered by its comment
        id(sub): (item.name, min([item.lineno] + [d.lineno for d in item.decorator_list]))
        for item in node.body
        if isinstance(item, ast.FunctionDef)
        for sub in ast.walk(item)
    }
    for item in ast.walk(node):
        if isinstance(item, ast.Attribute) and _is_self(item.value):
            claimed.add(id(item))
            if item.attr in inherited:
                method, start = starts.get(id(item), ("", item.lineno))
                first = start if method == item.attr else item.lineno
                found.append(Use(item.attr, path, item.lineno, first - COMMENT_REACH))
            elif isinstance(item.ctx, ast.Store):
                own.add(item.attr)
    return found


def _uses(package: str) -> list[Use]:
    """Private singer-sdk names the package's sources import, override or access.

    In a class derived from singer-sdk, a method or `self` attribute named like one of its
    bases' private names is a use. Anywhere, `obj._name` is a use when singer-sdk defines
    `_name` and the package never assigns it on its own objects.
    """
    sdk = _sdk_private_names()
    found: list[Use] = []
    own: set[str] = set()
    scanned: list[tuple[Path, ast.Module, ModuleType]] = []
    for path in sorted(PACKAGES[package].rglob("*.py")):
        if path.stem in {DECLARATION_MODULE, "__main__"}:
            continue
        module = importlib.import_module(_module_name(package, path))
        scanned.append((path, ast.parse(path.read_text(encoding="utf-8")), module))
    claimed: set[int] = set()  # id() of attribute nodes already judged inside a class
    for path, tree, module in scanned:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                found += _class_uses(path, node, getattr(module, node.name, None), claimed, own)
    for path, tree, _ in scanned:
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("singer_sdk"):
                names = [p for p in (node.module or "").split(".") if _is_private(p)]
                names += [a.name for a in node.names if _is_private(a.name)]
            elif (
                isinstance(node, ast.Attribute)
                and id(node) not in claimed
                and _is_private(node.attr)
                and node.attr in sdk
                and node.attr not in own
            ):
                names = [node.attr]
            line = getattr(node, "lineno", 0)
            found += [Use(n, path, line, line - COMMENT_REACH) for n in names]
    return found


def _undeclared(package: str, declared: set[str]) -> list[Use]:
    return [u for u in _uses(package) if u.name not in declared]


def _resolve(dotted: str) -> Any:
    """The object at a dotted path: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    msg = f"nothing importable in {dotted!r}"
    raise ModuleNotFoundError(msg)


def _instance_attributes(cls: type) -> set[str]:
    """Attributes the class (or a base) assigns on `self` in its source."""
    return {
        node.attr
        for tree in _class_sources(cls)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


def _has_static(owner: Any, name: str) -> bool:
    """Whether `owner` (a module or class, its bases included) defines `name`, unevaluated."""
    try:
        inspect.getattr_static(owner, name)
    except AttributeError:
        return False
    return True


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_declared_private_name_exists_with_the_expected_parameters(package: str) -> None:
    uses = _declarations(package).PRIVATE_SDK_USES
    broken = []
    for use in uses:
        owner = _resolve(use.owner)
        if use.parameters is None:
            # getattr_static: a class property (e.g. `_env_var_config`) must not be evaluated on
            # the SDK's abstract base, where it raises.
            present = _has_static(owner, use.name) or (
                inspect.isclass(owner) and use.name in _instance_attributes(owner)
            )
            if not present:
                broken.append(f"{use.owner}.{use.name}: attribute is gone")
            continue
        member = getattr(owner, use.name, None)
        if member is None or not callable(member):
            broken.append(f"{use.owner}.{use.name}: method is gone")
            continue
        actual = tuple(inspect.signature(member).parameters)
        if actual != tuple(use.parameters):
            broken.append(f"{use.owner}.{use.name}: parameters {actual}, expected {use.parameters}")
    assert not broken, (
        f"singer-sdk {version('singer-sdk')} changed private names {package} relies on "
        "(adapt the code and its sdk_private.py): " + "; ".join(broken)
    )


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_private_sdk_name_used_is_declared_and_every_declared_one_used(
    package: str,
) -> None:
    declared = {use.name for use in _declarations(package).PRIVATE_SDK_USES}
    undeclared = _undeclared(package, declared)
    assert not undeclared, "private singer-sdk names used but not declared in sdk_private.py: " + (
        ", ".join(f"{u.name} ({u.path.name}:{u.line})" for u in undeclared)
    )
    used = {u.name for u in _uses(package)}
    stale = sorted(declared - used)
    assert not stale, f"declared in {package}.sdk_private but no longer used: {stale}"


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_private_use_site_says_why(package: str) -> None:
    declared = {use.name for use in _declarations(package).PRIVATE_SDK_USES}
    silent = []
    for use in _uses(package):
        if use.name not in declared:
            continue
        lines = use.path.read_text(encoding="utf-8").splitlines()
        window = lines[max(0, use.comment_line - 1) : use.line]
        if not any(USE_SITE_COMMENT in line for line in window):
            silent.append(f"{use.name} ({use.path.name}:{use.line})")
    assert not silent, f"add a `# {USE_SITE_COMMENT} why` comment at: " + ", ".join(silent)


def test_the_scan_finds_an_override_of_a_final_sdk_method(tmp_path: Path) -> None:
    """A plugin class overriding what singer-sdk marks `@final` is a non-public use."""
    from singer_sdk import Tap

    source = "class T(Tap):\n    def sync_all(self):\n        pass\n"
    path = tmp_path / "plugin.py"
    path.write_text(source, encoding="utf-8")
    (node,) = ast.parse(source).body
    assert isinstance(node, ast.ClassDef)
    cls = type("T", (Tap,), {})
    assert "sync_all" in _final_methods(cls)
    assert [u.name for u in _class_uses(path, node, cls, set(), set())] == ["sync_all"]


def test_the_scan_finds_a_private_use_in_source() -> None:
    """The scanner itself: an override and an attribute read of SDK names are both seen."""
    source = (
        "class T(Target):\n"
        "    def _process_state_message(self, message_dict):\n"
        "        return self._sinks_active\n"
    )
    sdk = _sdk_private_names()
    tree = ast.parse(source)
    defs = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert {"_process_state_message", "_sinks_active"} <= (defs | attrs) & sdk
