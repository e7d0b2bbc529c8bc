"""Every registered model gets a complete Explain panel and `digitpad explain` figure, whatever its name.

What the panel draws comes from the model's layers, not from its name: a model added to the registry
(or the course's own from-scratch softmax, or the deeper MLP) is explained like the shipped ones.
"""

import json

import pytest
import torch

from digitpad.cli.predict import predict_file
from digitpad.core import names
from digitpad.core.checkpoints import ModelMeta, TrainedModel
from digitpad.core.explain import captions, explain_strokes
from digitpad.core.models import build_model
from digitpad.core.sample_digits import digit_strokes
from digitpad.core.strokes import StrokeSet


STROKES = {"width": 280, "height": 280, "pen_width": 18, "strokes": digit_strokes(7)}


def fresh(name: str) -> TrainedModel:
    """The registered model as a seeded, untrained network: explained as any trained one would be."""
    torch.manual_seed(0)
    meta = ModelMeta(architecture=name, dataset="mnist", class_names=[str(d) for d in range(10)],
                     mean=0.1307, std=0.3081)
    return TrainedModel(build_model(name).eval(), meta, name=f"fresh {name}")


def seven() -> StrokeSet:
    return StrokeSet.from_json(STROKES)


@pytest.mark.parametrize("name", names.MODELS)
def test_every_model_shows_what_is_inside_it_with_a_caption_for_each_kind_of_layer(name):
    e = explain_strokes(fresh(name), seven())
    assert e.layers, f"{name}: nothing inside the network to show"
    assert all(layer.CAPTION for layer in e.layers) and captions(e.layers)
    assert e.saliency is not None and e.saliency.top.shape == (28, 28)


@pytest.mark.parametrize("name", names.MODELS)
def test_every_model_fills_every_section_of_the_panel_and_of_the_explain_figure(qtbot, name, tmp_path):
    from digitpad.gui.canvas.explain_panel import ExplainPanel

    trained = fresh(name)
    panel = ExplainPanel()
    qtbot.addWidget(panel)
    panel.show_explanation(explain_strokes(trained, seven()))
    assert len(panel.strip.images) == 5  # ink → input
    assert panel.table.steps is not None  # logits → softmax
    assert len(panel.network_grids) == len(panel.explanation.layers) > 0
    assert all(grid.sizes and (grid.images or grid.atlas is not None) for grid in panel.network_grids)  # inside
    assert panel.network_title.text().strip()
    assert len(panel.saliency.images) == 2  # which pixels mattered

    path = tmp_path / "seven.json"
    path.write_text(json.dumps(STROKES))
    answer = predict_file(trained, path, strokes=True, explain_dir=tmp_path)
    assert answer["error"] is None and (tmp_path / "seven-explain.png").stat().st_size > 10_000
