"""Pack authoring: `skillsrv pack new | lint | test | build` as plain functions.

`lint.lint_path` checks a pack and returns diagnostics; `new.new_pack` writes a skeleton that
lints clean and passes its own evals; `build.build_pack` writes a distributable plugin, a
marketplace entry and a zip with sha256 digests; `report` renders results for people or JSON.
"""
