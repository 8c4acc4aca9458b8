"""``.. public-api:: package`` (option ``:skip-parent:``) -- document every name in a package's ``__all__``.

The directive expands, at build time, into a summary table and one autodoc
entry per public name (functions, classes, constants and lazily imported names
such as ``analyses.decompose_variance``), so the reference follows ``__all__``
as the code changes and no public name can be left out.

``.. cli-help:: module:group`` embeds the ``--help`` text of a click group and
of each of its commands, so the command-line page follows the installed CLI.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective


def _constant_doc(package: str, name: str) -> list[str]:
    """The ``#:`` comment documenting constant `name` in any module of `package` (re-exported constants)."""
    top = importlib.import_module(package.split(".")[0])
    modules = [top.__name__] + [m.name for m in pkgutil.walk_packages(top.__path__, top.__name__ + ".")]
    for modname in modules:
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:  # a module without source (compiled) documents nothing here
            continue
        lines = docs.get(("", name))
        if lines:
            return [line for line in lines if line.strip()]
    return []


def _kind(obj) -> str:
    if isinstance(obj, types.ModuleType):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if callable(obj) and (inspect.isfunction(obj) or inspect.isbuiltin(obj) or hasattr(obj, "__wrapped__")
                          or type(obj).__name__ in ("CPUDispatcher", "function")):
        return "function"
    return "data"


class PublicAPI(SphinxDirective):
    required_arguments = 1
    has_content = False
    option_spec = {"skip-parent": lambda arg: True}

    def run(self):
        modname = self.arguments[0]
        module = importlib.import_module(modname)
        names = [n for n in getattr(module, "__all__", []) if not n.startswith("__")]
        if "skip-parent" in self.options:
            # a submodule's names that its package re-exports are documented on the package
            parent = importlib.import_module(modname.rsplit(".", 1)[0])
            names = [n for n in names if n not in getattr(parent, "__all__", [])]
        lines = [".. autosummary::", ""]
        entries = []
        for name in names:
            obj = getattr(module, name)
            kind = _kind(obj)
            if kind == "module":
                # a submodule listed in __all__ gets its own page in the reference
                continue
            if kind != "data":  # constants are listed after the table, with their values
                lines.append(f"   {name}")
            entries.append((name, kind, obj))
        lines.append("")
        for name, kind, obj in entries:
            if kind == "data":
                if isinstance(obj, (set, frozenset)):  # a stable order, whatever the hash seed
                    value = f"{type(obj).__name__}({{{', '.join(repr(v) for v in sorted(obj, key=str))}}})"
                else:
                    value = repr(obj)
                if len(value) > 300:
                    value = value[:300] + " ..."
                lines.append(f".. py:data:: {name}")  # in the module automodule set
                lines.append(f"   :value: {value}")
                lines.append("")
                doc = _constant_doc(modname, name) or ["A constant of the package."]
                lines.extend("   " + line for line in doc)
                lines.append("")
                continue
            directive = {"class": "autoclass", "function": "autofunction"}[kind]
            lines.append(f".. {directive}:: {modname}.{name}")
            if kind == "class":
                lines.append("   :members:")
            lines.append("")
        node = nodes.container()
        self.state.nested_parse(StringList(lines, source=f"<public-api {modname}>"), self.content_offset, node)
        return node.children


class CLIHelp(SphinxDirective):
    """``.. cli-help:: module:group`` -- the ``--help`` text of a click group and of each of its commands."""

    required_arguments = 1
    has_content = False

    def run(self):
        import click

        modname, attr = self.arguments[0].split(":")
        group = getattr(importlib.import_module(modname), attr)
        prog = "alignstat"
        out = []
        root = click.Context(group, info_name=prog)
        items = [(prog, group.get_help(root))]
        for name in group.list_commands(root):
            command = group.get_command(root, name)
            ctx = click.Context(command, info_name=name, parent=root)
            items.append((f"{prog} {name}", command.get_help(ctx)))
        for title, text in items:
            section = nodes.section(ids=[nodes.make_id(title)])
            section += nodes.title(text=title)
            block = nodes.literal_block(text, text)
            block["language"] = "text"
            section += block
            out.append(section)
        return out


def setup(app):
    app.add_directive("public-api", PublicAPI)
    app.add_directive("cli-help", CLIHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
