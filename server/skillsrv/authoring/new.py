"""`skillsrv pack new NAME`: a pack skeleton that lints clean and passes its own evals.

The skeleton is a small worked example rather than empty placeholders (an empty route table
cannot be linted or evaluated): a router with every section routing reads (a route table,
symptoms, clarifying questions, red flags, a wrong-route table), one sheet on MLP baselines
for tabular data, one blueprint (a tiny MLP, in the format of the bundled blueprints) and an
`evals.yaml`. HTML comments in the files say what to replace.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from skillsrv.errors import SkillsrvError, UsageError

NAME_RULE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_NAME = 64 - len("using-")
SHEET = "mlp-baselines.md"
BLUEPRINT = "tiny-mlp"


def _title(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split("-"))


def plugin_json(name: str) -> str:
    manifest = {
        "name": name,
        "version": "0.1.0",
        "description": "Neural network baselines for tabular data: MLP width and depth, feature "
                       "scaling, categorical embeddings and when gradient-boosted trees win.",
        "keywords": ["tabular", "mlp", "neural-networks"],
    }
    return json.dumps(manifest, indent=2) + "\n"


ROUTER = """\
---
name: using-{name}
description: "Use when building a neural network for tabular data (rows of numeric and \
categorical features): routes MLP width and depth, feature scaling, categorical embeddings, \
dropout and the gradient-boosted-trees comparison to the right reference sheet."
---

# Using {title}

<!-- skillsrv pack new: this router is a worked example. Replace the domain (tabular MLPs)
with yours, keep the section shapes (lint and routing read them), add one sheet per topic,
and keep evals.yaml in step. Check with `skillsrv pack lint` and `skillsrv pack test`. -->

Start every tabular problem with a baseline you can trust. This router sends questions about
neural networks on tables to the sheet that answers them, and says when to stop and ask.

## When to Use This Skill

Use this skill when:

- Choosing a first neural network for rows of numeric and categorical features
- Sizing an MLP (width, depth, dropout) against the number of rows
- Deciding between gradient-boosted trees and a neural network

Do not use for:

- Loss that diverges, goes NaN or will not decrease; learning rates and optimizers (use **training-optimization**)
- Serving a trained model behind an API, export and monitoring (use **ml-production**)

## Route by Situation

| Situation | Route To | Why |
|---|---|---|
| Tabular data, first neural baseline, MLP width and depth | [{sheet}]({sheet}) | Start simple: a small MLP with scaled inputs |
| Categorical columns, embeddings, feature scaling and encoding | [{sheet}]({sheet}) | Encoding decides what the MLP can learn |
| Gradient-boosted trees versus a neural network on a spreadsheet | [{sheet}]({sheet}) | Trees often win on small tables; compare first |

## Sheet-by-Sheet Routing

### Tabular Data → MLP Baselines

**Symptoms triggering this route:**

- "which neural network for my table of features?"
- "how many layers and units for my MLP?"
- "XGBoost or a neural net for tabular data?"
- "how do I encode categorical columns for an MLP?"

**Route to:** [{sheet}]({sheet}) covers MLP baselines, feature scaling, categorical
embeddings, width, depth and dropout, and the comparison with gradient-boosted trees.

**Clarifying questions:**

- "How many rows and columns does the table have?" (under ~10k rows → a small MLP and a tree baseline)
- "Is the target a class or a number?" (classification → cross-entropy; regression → mean squared error)

## Red Flags: Stop and Clarify

| Pattern | Why Clarify | What to Ask |
|---|---|---|
| "What is the best model for my data?" | Best depends on data size and type | "How many rows, which column types, and what is the target?" |
| No row count given | Data size decides capacity | "How many labelled rows do you have?" |

## Common Routing Mistakes

| Symptom | Wrong Route | Correct Route | Why |
|---|---|---|---|
| "My MLP's loss goes NaN after a few epochs" | [{sheet}]({sheet}) | **training-optimization** | Divergence is an optimization problem, not an architecture choice |
| "Serve my tabular model behind a REST API" | [{sheet}]({sheet}) | **ml-production** | Serving and monitoring have their own pack |

## Sheets in This Pack

1. [{sheet}]({sheet}): MLP baselines for tabular data, feature scaling, categorical embeddings, width, depth, dropout, trees versus networks
"""  # noqa: E501 (markdown tables and list items stay on one line)

SHEET_TEXT = """\
# MLP Baselines for Tabular Data

<!-- skillsrv pack new: an example sheet. Replace it with your own reference content. -->

A multilayer perceptron is the neural starting point for tabular data: rows of numeric and
categorical features have no spatial or temporal structure for a CNN or RNN to exploit.

## Before the network

- Standardize numeric features (zero mean, unit variance); an MLP is sensitive to scale.
- Encode categorical columns: one-hot for a handful of levels, learned embeddings of 4 to 32
  dimensions for many levels.
- Fit a gradient-boosted tree model (XGBoost, LightGBM, CatBoost) first: on small and medium
  tables it often wins, and it tells you what accuracy to expect.

## Sizing the MLP

| Rows | Hidden layers | Width | Dropout |
|---|---|---|---|
| Under 10k | 1 to 2 | 64 to 128 | 0.1 to 0.3 |
| 10k to 1M | 2 to 3 | 128 to 512 | 0.1 |
| Over 1M | 3 to 4 | 512 to 1024 | 0 to 0.1 |

Widen only while the training error stays high; add dropout or weight decay when the gap
between training and validation error grows.

## Blueprint

The `{blueprint}` blueprint (`blueprints/{blueprint}.md`) is this sheet's model: Linear,
ReLU and Dropout blocks, then a linear head.
"""

BLUEPRINT_TEXT = """\
---
name: {blueprint}
family: mlp
summary: "Tiny multilayer perceptron for tabular classification or regression"
sheet: {sheet}
modalities: [tabular]
tasks: [classification, regression]
config_class: TinyMLPConfig
parameters:
  num_features: {{type: int, default: 16, min: 1, help: "Input features per row (after encoding categoricals)"}}
  num_outputs: {{type: int, default: 2, min: 1, help: "Classes (classification) or targets (regression)"}}
  hidden_size: {{type: int, default: 64, min: 1, help: "Width of every hidden layer"}}
  num_layers: {{type: int, default: 2, min: 1, max: 8, help: "Hidden layers"}}
  dropout: {{type: float, default: 0.1, min: 0.0, max: 0.9, help: "Dropout after each hidden layer"}}
output: "(B, num_outputs)"
references:
  - "Goodfellow, Bengio, Courville. Deep Learning, ch. 6 (deep feedforward networks), 2016"
---

# Tiny MLP for tabular data

<!-- skillsrv pack new: an example blueprint. Keep the frontmatter keys and the one python
block with build_model(config) and example_inputs(config, batch_size). -->

A small baseline for rows of numeric features: Linear -> ReLU -> Dropout blocks and a linear
head. See `{sheet}` for scaling, encoding and sizing.

```python
\"\"\"A tiny multilayer perceptron for tabular classification or regression.

Spec: num_layers hidden blocks (Linear -> ReLU -> Dropout) of width hidden_size, then a linear
output layer.

Shapes: B batch, F input features, H hidden width, K outputs.
\"\"\"

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class TinyMLPConfig:
    num_features: int = 16
    num_outputs: int = 2
    hidden_size: int = 64
    num_layers: int = 2
    dropout: float = 0.1

    def __post_init__(self) -> None:
        for name in ("num_features", "num_outputs", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{{name}} must be at least 1, got {{getattr(self, name)}}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {{self.dropout}}")


class HiddenBlock(nn.Module):
    def __init__(self, in_features: int, config: TinyMLPConfig) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, config.hidden_size)
        self.act = nn.ReLU()
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x)  # (B, H)
        x = self.act(x)
        return self.dropout(x)


class TinyMLP(nn.Module):
    def __init__(self, config: TinyMLPConfig) -> None:
        super().__init__()
        self.config = config
        widths = [config.num_features] + [config.hidden_size] * (config.num_layers - 1)
        self.blocks = nn.Sequential(*(HiddenBlock(width, config) for width in widths))
        self.head = nn.Linear(config.hidden_size, config.num_outputs)
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(x)  # (B, H)
        return self.head(x)  # (B, K)


def build_model(config: TinyMLPConfig) -> nn.Module:
    return TinyMLP(config)


def example_inputs(config: TinyMLPConfig, batch_size: int) -> tuple[torch.Tensor, ...]:
    return (torch.randn(batch_size, config.num_features),)
```
"""  # noqa: E501 (one parameter per line, as in the bundled blueprints)

EVALS = """\
# Routing evals for the {name} pack: query -> expected answer. `skillsrv pack test` runs them.
# expect: a sheet file name of this pack, the router skill "using-{name}", "clarify" (too
# little to route on; ask first) or "redirect:<pack>" (belongs to another pack).
threshold:
  top1: 0.8
cases:
  - query: "Which neural network should I start with for a table of customer features with numeric and categorical columns?"
    expect: {sheet}
  - query: "How many hidden layers and units should my MLP have for 20k rows of tabular data?"
    expect: {sheet}
  - query: "XGBoost or a neural net for my spreadsheet data?"
    expect: {sheet}
  - query: "How do I encode categorical columns with embeddings for an MLP?"
    expect: {sheet}
  - query: "Which model should I use?"
    expect: clarify
  - query: "My MLP's loss goes NaN after a few epochs"
    expect: redirect:training-optimization
  - query: "Serve my tabular model behind a REST API"
    expect: redirect:ml-production
"""  # noqa: E501 (one query per line)


def skeleton(name: str) -> dict[str, str]:
    """The files of a new pack, relative to the pack folder."""
    values = {"name": name, "title": _title(name), "sheet": SHEET, "blueprint": BLUEPRINT}
    router = f"skills/using-{name}"
    return {
        ".claude-plugin/plugin.json": plugin_json(name),
        f"{router}/SKILL.md": ROUTER.format(**values),
        f"{router}/{SHEET}": SHEET_TEXT.format(**values),
        f"{router}/blueprints/{BLUEPRINT}.md": BLUEPRINT_TEXT.format(**values),
        "evals.yaml": EVALS.format(**values),
    }


def new_pack(name: str, parent: Path) -> Path:
    """Write the skeleton of pack `name` into `parent/name` and return that folder."""
    if not NAME_RULE.match(name) or len(name) > MAX_NAME:
        raise UsageError(f"pack name {name!r} must be lowercase letters, digits and single "
                         f"hyphens, at most {MAX_NAME} characters",
                         hint="for example: tabular-models")
    root = parent / name
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise SkillsrvError(f"{root} already exists and is not empty",
                            hint="choose another NAME or --dir")
    for relative, text in skeleton(name).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
