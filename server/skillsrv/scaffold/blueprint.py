"""Blueprints: markdown files in a pack that hold one PyTorch model as a parameterised template.

A blueprint has strict YAML frontmatter (name, family, what it serves, its parameters, aliases
that reproduce reference architectures, constraints, the documented output shape), some prose,
and exactly one ```python block: a complete module with a config dataclass, `build_model` and
`example_inputs`. Parsing never raises and never runs the code: problems become diagnostics with
the file, the line and what to do.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skillsrv import yamlio
from skillsrv.diagnostics import Diagnostic, error, warning
from skillsrv.packs.frontmatter import split_frontmatter
from skillsrv.packs.model import Catalog
from skillsrv.paths import BUNDLED_SKILLS
from skillsrv.scaffold import expr

BUNDLED_BLUEPRINTS = BUNDLED_SKILLS / "neural-architectures" / "using-neural-architectures" / (
    "blueprints")

MAX_BLUEPRINT_BYTES = 1024 * 1024
NAME_RULE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
ALIAS_RULE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*$")
ALLOWED_IMPORTS = frozenset({"torch", "torch.nn", "torch.nn.functional", "math", "dataclasses",
                             "typing", "__future__"})
FORBIDDEN_CALLS = frozenset({"print", "exec", "eval", "compile", "open", "__import__", "input",
                             "breakpoint", "globals", "setattr", "delattr"})
FORBIDDEN_ATTRIBUTES = frozenset({"cuda", "manual_seed", "seed", "load", "save", "hub",
                                  "download_url_to_file", "system"})
REQUIRED_FUNCTIONS = ("build_model", "example_inputs")

Family = Literal["cnn", "mlp", "linear", "rnn", "tcn", "transformer", "gnn", "generative",
                 "multimodal"]
Modality = Literal["image", "sequence", "text", "time-series", "audio", "tabular", "graph",
                   "multimodal"]
Task = Literal["classification", "regression", "segmentation", "forecasting", "generation",
               "language-modeling", "node-classification", "graph-classification", "embedding"]
ParamType = Literal["int", "float", "bool", "str"]
Value = bool | int | float | str
PYTHON_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (float, int), "bool": (bool,),
                                             "str": (str,)}


class Parameter(BaseModel):
    """One tunable field of the config dataclass."""

    model_config = ConfigDict(extra="forbid")

    type: ParamType
    default: Value
    choices: list[Value] | None = None
    min: float | None = None
    max: float | None = None
    help: str = Field(min_length=1)


class Alias(BaseModel):
    """A canonical name: overrides that reproduce a reference architecture."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Value] = Field(default_factory=dict)
    reference_params: int | None = Field(default=None, gt=0)
    reference: str | None = None


class BlueprintMeta(BaseModel):
    """The frontmatter schema of a blueprint file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_RULE.pattern, max_length=64)
    family: Family
    summary: str = Field(min_length=1, max_length=300)
    sheet: str = Field(pattern=r"^[\w.-]+\.md$")
    modalities: list[Modality] = Field(min_length=1)
    tasks: list[Task] = Field(min_length=1)
    config_class: str = Field(pattern=r"^[A-Za-z_]\w*$")
    parameters: dict[str, Parameter] = Field(min_length=1)
    aliases: dict[str, Alias] = Field(default_factory=dict)
    constraints: list[str] = Field(default_factory=list)
    output: str | dict[str, str]
    references: list[str] = Field(default_factory=list)


class Blueprint(BlueprintMeta):
    """A validated blueprint: its frontmatter plus where it came from and its code."""

    path: str  # as diagnostics name it
    code: str
    code_line: int  # file line of the code's first line
    prose: str = ""

    def defaults(self) -> dict[str, Value]:
        return {key: spec.default for key, spec in self.parameters.items()}

    def output_shapes(self, values: dict[str, Value], batch_size: int) -> list[tuple[int, ...]]:
        """The documented output shape(s) of `model(*example_inputs(config, batch_size))`."""
        env = {**values, "B": batch_size}
        if isinstance(self.output, str):
            return expr.evaluate_shapes(expr.parse_shapes(self.output), env)
        for condition, shape in self.output.items():
            if expr.evaluate(expr.parse(condition), env):
                return expr.evaluate_shapes(expr.parse_shapes(shape), env)
        raise expr.ExprError("no output condition holds for this configuration")


# --------------------------------------------------------------------------- frontmatter


def _line_map(raw: str) -> dict[tuple[str, ...], int]:
    """File line of every mapping key in the frontmatter (which starts on file line 2)."""
    lines: dict[tuple[str, ...], int] = {}
    try:
        root = yamlio.compose(raw)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = (*prefix, str(key_node.value))
                lines.setdefault(key, key_node.start_mark.line + 2)
                walk(value_node, key)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                key = (*prefix, str(index))
                lines.setdefault(key, item.start_mark.line + 2)
                walk(item, key)

    if root is not None:
        walk(root, ())
    return lines


class _Checker:
    """Collects diagnostics for one file, pointing at the nearest known line."""

    def __init__(self, rel_path: str, lines: dict[tuple[str, ...], int]) -> None:
        self.rel_path = rel_path
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []

    def line(self, *key: str) -> int | None:
        for end in range(len(key), 0, -1):
            if key[:end] in self.lines:
                return self.lines[key[:end]]
        return 2 if self.lines else 1

    def error(self, line: int | None, code: str, message: str) -> None:
        self.diagnostics.append(error(self.rel_path, line, code, message))

    def warn(self, line: int | None, code: str, message: str) -> None:
        self.diagnostics.append(warning(self.rel_path, line, code, message))

    @property
    def failed(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)


def _type_ok(kind: str, value: Any) -> bool:
    if isinstance(value, bool) and kind != "bool":
        return False
    return isinstance(value, PYTHON_TYPES[kind])


def value_problem(spec: Parameter, value: Any) -> str | None:
    """Why `value` is not allowed for `spec`, or None when it is."""
    if not _type_ok(spec.type, value):
        return f"expected {spec.type}, got {type(value).__name__} {value!r}"
    if spec.choices is not None and value not in spec.choices:
        return f"must be one of {', '.join(map(str, spec.choices))}"
    if spec.min is not None and value < spec.min:
        return f"must be at least {_number(spec.min)}"
    if spec.max is not None and value > spec.max:
        return f"must be at most {_number(spec.max)}"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_parameters(meta: BlueprintMeta, check: _Checker) -> None:
    for key, spec in meta.parameters.items():
        line = check.line("parameters", key)
        if not key.isidentifier() or key == "B":
            check.error(line, "blueprint-parameter",
                        f"parameter '{key}' must be a Python identifier other than B (B names "
                        "the batch in output shapes); rename it and its dataclass field")
            continue
        if spec.type in ("bool", "str") and (spec.min is not None or spec.max is not None):
            check.error(line, "blueprint-parameter",
                        f"parameter '{key}' is {spec.type}; min/max apply to int and float only; "
                        "remove them or use choices")
        for choice in spec.choices or []:
            if not _type_ok(spec.type, choice):
                check.error(check.line("parameters", key, "choices"), "blueprint-parameter",
                            f"choice {choice!r} of '{key}' is not {spec.type}; make every choice "
                            f"a {spec.type}")
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            check.error(line, "blueprint-parameter",
                        f"parameter '{key}' has min {spec.min} above max {spec.max}; swap them")
        problem = value_problem(spec, spec.default)
        if problem:
            check.error(check.line("parameters", key, "default"), "blueprint-default",
                        f"default {spec.default!r} of '{key}' is invalid: {problem}; fix the "
                        "default or the allowed range")
        if spec.type == "float" and isinstance(spec.default, int):
            spec.default = float(spec.default)


def check_constraints(meta: BlueprintMeta, values: dict[str, Value]) -> list[tuple[int, str]]:
    """Indexes and texts of the constraints that `values` violate (unparsable ones count)."""
    failed = []
    for index, text in enumerate(meta.constraints):
        try:
            ok = bool(expr.evaluate(expr.parse(text), values))
        except expr.ExprError:
            ok = False
        if not ok:
            failed.append((index, text))
    return failed


def _check_expressions(meta: BlueprintMeta, check: _Checker) -> None:
    known = set(meta.parameters)
    for index, text in enumerate(meta.constraints):
        line = check.line("constraints", str(index))
        try:
            unknown = [n for n in expr.names(expr.parse(text)) if n not in known]
        except expr.ExprError as exc:
            check.error(line, "blueprint-constraint", f"constraint {text!r}: {exc}")
            continue
        if unknown:
            check.error(line, "blueprint-constraint",
                        f"constraint {text!r} names {', '.join(unknown)}, which are not "
                        "parameters; use parameter names only")
    outputs = {"": meta.output} if isinstance(meta.output, str) else meta.output
    for condition, shape in outputs.items():
        line = check.line("output", condition) if condition else check.line("output")
        try:
            used = expr.names(expr.parse(condition)) if condition else []
            for dims in expr.parse_shapes(shape):
                for dim in dims:
                    used += expr.names(dim)
        except expr.ExprError as exc:
            check.error(line, "blueprint-output",
                        f"output {shape!r}: {exc}; write it like \"(B, num_classes)\"")
            continue
        unknown = sorted({n for n in used if n not in known and n != "B"})
        if unknown:
            check.error(line, "blueprint-output",
                        f"output names {', '.join(unknown)}: use B and parameter names only")


def _check_values(meta: BlueprintMeta, values: dict[str, Value], what: str, line: int | None,
                  check: _Checker) -> None:
    """A full configuration (defaults or an alias) must satisfy constraints and give a shape."""
    for _index, text in check_constraints(meta, values):
        check.error(line, "blueprint-constraint",
                    f"{what} violates constraint {text!r}; change the values or the constraint")
    try:
        probe = Blueprint(**meta.model_dump(), path="", code="", code_line=0)
        shapes = probe.output_shapes(values, 2)
    except expr.ExprError as exc:
        check.error(line, "blueprint-output",
                    f"output shape cannot be computed for {what}: {exc}; make exactly one "
                    "output condition hold")
        return
    except ValidationError:
        return
    if any(dim < 1 for shape in shapes for dim in shape):
        check.error(line, "blueprint-output",
                    f"output shape {shapes} for {what} has a dimension below 1; fix the "
                    "output expression")


def _check_aliases(meta: BlueprintMeta, check: _Checker) -> None:
    for alias, spec in meta.aliases.items():
        line = check.line("aliases", alias)
        if not ALIAS_RULE.match(alias):
            check.error(line, "blueprint-alias",
                        f"alias '{alias}' must be lowercase letters and digits joined by '-', "
                        "'_' or '.'")
        resolved = {key: p.default for key, p in meta.parameters.items()}
        ok = True
        for key, value in spec.params.items():
            key_line = check.line("aliases", alias, "params", key)
            if key not in meta.parameters:
                check.error(key_line, "blueprint-alias",
                            f"alias '{alias}' overrides unknown parameter '{key}'; known: "
                            f"{', '.join(meta.parameters)}")
                ok = False
                continue
            problem = value_problem(meta.parameters[key], value)
            if problem:
                check.error(key_line, "blueprint-alias",
                            f"alias '{alias}' sets {key}={value!r}, which {problem}")
                ok = False
                continue
            resolved[key] = float(value) if meta.parameters[key].type == "float" else value
        if ok:
            _check_values(meta, resolved, f"alias '{alias}'", line, check)


# --------------------------------------------------------------------------- code


def find_code_blocks(body: str, body_line: int) -> list[tuple[int, str, str]]:
    """Fenced blocks of the body: (file line of the opening fence, info string, content)."""
    blocks: list[tuple[int, str, str]] = []
    lines = body.split("\n")
    index = 0
    while index < len(lines):
        match = re.match(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)", lines[index])
        if not match:
            index += 1
            continue
        fence, info, start = match.group(2), match.group(3).lower(), index
        index += 1
        content: list[str] = []
        while index < len(lines) and not lines[index].strip().startswith(fence):
            content.append(lines[index])
            index += 1
        blocks.append((body_line + start, info, "\n".join(content) + "\n"))
        index += 1
    return blocks


def _annotation_name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else ast.unparse(node)


def config_fields(tree: ast.Module, class_name: str) -> dict[str, ast.AnnAssign] | None:
    """The dataclass fields of `class_name` (name -> AnnAssign), or None when it is missing."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return {item.target.id: item for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)}
    return None


def _is_dataclass(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "dataclass":
            return True
    return False


def _check_code(meta: BlueprintMeta, code: str, code_line: int, check: _Checker) -> None:
    def at(node: ast.AST) -> int:
        return code_line + getattr(node, "lineno", 1) - 1

    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        check.error(code_line + (exc.lineno or 1) - 1, "blueprint-code",
                    f"the python block does not parse ({exc.msg}); fix the syntax")
        return
    if ast.get_docstring(tree) is None:
        check.warn(code_line, "blueprint-docstring",
                   "the module has no docstring; start it with the spec and a legend of shape "
                   "letters (B batch, C channels, ...)")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""])
            for module in modules:
                if module not in ALLOWED_IMPORTS:
                    check.error(at(node), "blueprint-import",
                                f"imports '{module}'; blueprints may import only "
                                f"{', '.join(sorted(ALLOWED_IMPORTS - {'__future__'}))}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                check.error(at(node), "blueprint-forbidden",
                            f"calls {func.id}(); generated models do no I/O, printing or "
                            "dynamic code: remove it")
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_ATTRIBUTES:
                check.error(at(node), "blueprint-forbidden",
                            f"calls .{func.attr}(); no devices, seeding, downloads or file "
                            "I/O in generated models (the device comes from the input)")
    top_functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name in REQUIRED_FUNCTIONS:
        if name not in top_functions:
            check.error(code_line, "blueprint-code",
                        f"the module defines no top-level {name}(); add "
                        "build_model(config) and example_inputs(config, batch_size)")
    class_node = next((n for n in tree.body if isinstance(n, ast.ClassDef)
                       and n.name == meta.config_class), None)
    config_line = check.line("config_class")
    if class_node is None:
        check.error(config_line, "blueprint-config",
                    f"config_class {meta.config_class} is not a class in the python block; "
                    "name the config dataclass there")
        return
    if not _is_dataclass(class_node):
        check.error(at(class_node), "blueprint-config",
                    f"{meta.config_class} must be decorated with @dataclass")
    fields = config_fields(tree, meta.config_class) or {}
    for key, node in fields.items():
        spec = meta.parameters.get(key)
        if spec is None:
            check.warn(at(node), "blueprint-config",
                       f"field '{key}' of {meta.config_class} is not under parameters; add it "
                       "to the frontmatter so it can be set")
            continue
        annotation = _annotation_name(node.annotation)
        if annotation != spec.type:
            check.error(at(node), "blueprint-config",
                        f"field '{key}' is annotated {annotation} but the frontmatter says "
                        f"{spec.type}; make them agree")
        if node.value is None:
            check.error(at(node), "blueprint-config",
                        f"field '{key}' has no default; give it the frontmatter default "
                        f"{spec.default!r}")
            continue
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            check.error(at(node), "blueprint-config",
                        f"field '{key}' default is not a literal; write the value itself")
            continue
        if type(default) is not type(spec.default) or default != spec.default:
            check.error(at(node), "blueprint-default",
                        f"field '{key}' defaults to {default!r} in the code but "
                        f"{spec.default!r} in the frontmatter (line "
                        f"{check.line('parameters', key, 'default')}); make them equal")
    for key in meta.parameters:
        if key not in fields:
            check.error(check.line("parameters", key), "blueprint-config",
                        f"parameter '{key}' is not a field of {meta.config_class}; add the "
                        "field or remove the parameter")


# --------------------------------------------------------------------------- entry points


def parse_blueprint(path: Path, text: str, rel_path: str) -> tuple[Blueprint | None,
                                                                   list[Diagnostic]]:
    """Parse and validate one blueprint file. Never raises; errors make the result None."""
    raw, body, body_line = split_frontmatter(text)
    if raw is None:
        return None, [error(rel_path, 1, "blueprint-frontmatter",
                            "no YAML frontmatter; start the file with '---', the keys name, "
                            "family, summary, sheet, modalities, tasks, config_class, parameters, "
                            "output, then '---'")]
    try:
        data = yamlio.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        return None, [error(rel_path, mark.line + 2 if mark else 2, "blueprint-frontmatter",
                            f"frontmatter is not valid YAML ({problem}); quote values that "
                            "contain ': ' or '#'")]
    check = _Checker(rel_path, _line_map(raw))
    if not isinstance(data, dict):
        check.error(2, "blueprint-frontmatter", "frontmatter must be a mapping of keys to values")
        return None, check.diagnostics
    try:
        meta = BlueprintMeta.model_validate(data)
    except ValidationError as exc:
        for problem in exc.errors():
            loc = tuple(str(part) for part in problem["loc"])
            where = ".".join(loc) or "frontmatter"
            line = check.line(*loc)
            if problem["type"] == "missing":
                check.error(line, "blueprint-field", f"missing required key '{where}'; add it")
            elif problem["type"] == "extra_forbidden":
                check.error(line, "blueprint-field",
                            f"unknown key '{where}'; remove it or check its spelling")
            else:
                check.error(line, "blueprint-field",
                            f"'{where}': {problem['msg']} (got {problem.get('input')!r})")
        return None, check.diagnostics
    if meta.name != path.stem:
        check.error(check.line("name"), "blueprint-name",
                    f"name '{meta.name}' differs from the file name '{path.stem}'; rename one")
    _check_parameters(meta, check)
    if not check.failed:
        _check_expressions(meta, check)
    if not check.failed:
        defaults = {key: spec.default for key, spec in meta.parameters.items()}
        _check_values(meta, defaults, "the defaults", check.line("parameters"), check)
        _check_aliases(meta, check)
    blocks = find_code_blocks(body, body_line)
    python = [block for block in blocks if block[1] in ("python", "py", "python3")]
    if len(python) != 1:
        line = python[1][0] if len(python) > 1 else body_line
        check.error(line, "blueprint-code",
                    f"found {len(python)} ```python blocks; a blueprint holds exactly one, with "
                    "the whole module")
        return None, check.diagnostics
    fence_line, _info, code = python[0]
    _check_code(meta, code, fence_line + 1, check)
    skill_dir = path.parent.parent
    if (skill_dir / "SKILL.md").is_file() and not (skill_dir / meta.sheet).is_file():
        check.warn(check.line("sheet"), "blueprint-sheet",
                   f"sheet {meta.sheet} is not in {skill_dir.name}; name a sheet of this skill")
    prose = "\n".join(line for line in body.split("\n")[: fence_line - body_line]).strip()
    if meta.sheet not in prose:
        check.warn(body_line, "blueprint-prose",
                   f"the prose does not cite {meta.sheet}; say when to use this model and "
                   "where the pack explains it")
    if check.failed:
        return None, check.diagnostics
    return Blueprint(**meta.model_dump(), path=rel_path, code=code, code_line=fence_line + 1,
                     prose=prose), check.diagnostics


def load_blueprints(folder: Path | str) -> tuple[list[Blueprint], list[Diagnostic]]:
    """Parse every `*.md` in `folder`; names and aliases must be unique across files."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], [error(folder.as_posix(), None, "blueprint-folder",
                          "blueprint folder not found; pass an existing folder")]
    return load_blueprint_files(sorted(folder.glob("*.md")))


def catalog_blueprints(catalog: Catalog) -> tuple[list[Blueprint], list[Diagnostic]]:
    """The blueprints every loaded pack ships (the `blueprints/` folder of its skills)."""
    return load_blueprint_files([Path(pack.source) / relative for pack in catalog.packs
                                 for skill in pack.skills for relative in skill.blueprints])


def read_blueprint(path: Path, shown: str) -> tuple[Blueprint | None, list[Diagnostic]]:
    """Read and parse one blueprint file; `shown` is how diagnostics name it."""
    try:
        if path.stat().st_size > MAX_BLUEPRINT_BYTES:
            return None, [error(shown, None, "blueprint-too-large",
                                f"larger than {MAX_BLUEPRINT_BYTES} bytes; split or trim it")]
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [error(shown, None, "blueprint-unreadable",
                            f"cannot be read as UTF-8 ({exc}); fix the file")]
    return parse_blueprint(path, text, shown)


def load_blueprint_files(paths: Iterable[Path]) -> tuple[list[Blueprint], list[Diagnostic]]:
    """Parse blueprint files; names and aliases must be unique across them."""
    blueprints: list[Blueprint] = []
    diagnostics: list[Diagnostic] = []
    taken: dict[str, str] = {}
    for path in paths:
        rel = path.as_posix()
        if not path.is_file():
            continue
        blueprint, found = read_blueprint(path, rel)
        diagnostics.extend(found)
        if blueprint is None:
            continue
        if blueprint.name in taken:
            diagnostics.append(error(rel, 2, "blueprint-duplicate",
                                     f"name '{blueprint.name}' is already used by "
                                     f"{taken[blueprint.name]}; rename one"))
            continue
        taken[blueprint.name] = rel
        for alias in list(blueprint.aliases):
            if alias in taken:
                diagnostics.append(warning(rel, None, "blueprint-duplicate",
                                           f"alias '{alias}' is already used by {taken[alias]}; "
                                           "it is ignored here: rename it"))
                del blueprint.aliases[alias]
            else:
                taken[alias] = rel
        blueprints.append(blueprint)
    return blueprints, diagnostics
