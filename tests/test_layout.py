"""The package's layout rules, checked on its source with ``ast``.

* A ``_``-prefixed name belongs to its own module: no other module imports it
  (``from x import _name``) or reaches for it through an imported module
  (``x._name``).  Importing a ``_``-prefixed *module* is fine: that is how a
  package uses its implementation modules.
* A package's ``__all__`` lists only public names.
* No module grows past :data:`MAX_MODULE_LINES`.
"""

import ast
from pathlib import Path

import pytest

import nlmeans

PACKAGE_DIR = Path(nlmeans.__file__).parent

#: A module longer than this holds more than one concern; split it by concept.
MAX_MODULE_LINES = 400

SOURCES = sorted(PACKAGE_DIR.rglob("*.py"))


def _module_name(path):
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted):
    """Whether ``dotted`` names a module or package of nlmeans on disk."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE_DIR.name:
        return False
    base = PACKAGE_DIR.parent.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _is_private(name):
    return name.startswith("_") and not name.startswith("__")


def _absolute(path, node):
    """The absolute module an ``ImportFrom`` node imports from."""
    if node.level == 0:
        return node.module
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    if node.level > 1:
        package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def private_uses(path):
    """Each use of another module's ``_``-name in the module at ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    modules = {}  # local name -> the nlmeans module it is bound to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(path, node)
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if _is_module(target):
                    modules[alias.asname or alias.name] = target
                elif _is_private(alias.name):
                    found.append(f"line {node.lineno}: from {source} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and _is_module(alias.name):
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and _is_private(node.attr)
            and not _is_module(f"{modules[node.value.id]}.{node.attr}")
        ):
            found.append(f"line {node.lineno}: {modules[node.value.id]}.{node.attr}")
    return found


def declared_all(path):
    """The names in a module's literal ``__all__``, or ``[]``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return list(ast.literal_eval(node.value))
    return []


@pytest.mark.parametrize("path", SOURCES, ids=_module_name)
def test_no_private_name_crosses_modules(path):
    assert private_uses(path) == []


@pytest.mark.parametrize("path", [p for p in SOURCES if p.name == "__init__.py"], ids=_module_name)
def test_all_lists_only_public_names(path):
    assert [name for name in declared_all(path) if _is_private(name)] == []


@pytest.mark.parametrize("path", SOURCES, ids=_module_name)
def test_module_is_small(path):
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES


def test_scanner_sees_private_imports(tmp_path, monkeypatch):
    # The checks above pass on a clean tree; this one shows they can fail.
    package = tmp_path / "nlmeans"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("__all__ = ['_hidden', 'shown']\n")
    (package / "sub" / "_impl.py").write_text("def _hidden(): pass\n")
    user = package / "sub" / "_user.py"
    user.write_text(
        "from . import _impl\n"
        "from ._impl import _hidden\n"
        "from .. import sub as s\n"
        "x = _impl._hidden\n"
        "y = s._impl\n"
    )
    monkeypatch.setitem(globals(), "PACKAGE_DIR", package)
    assert private_uses(user) == [
        "line 2: from nlmeans.sub._impl import _hidden",
        "line 4: nlmeans.sub._impl._hidden",
    ]
    assert declared_all(package / "sub" / "__init__.py") == ["_hidden", "shown"]
