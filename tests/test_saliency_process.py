"""The Explain panel's saliency in a child process (core, no Qt): same maps as in this process, newest first."""

import numpy as np

from digitpad.core.checkpoints import ASSETS_DIR, load_checkpoint
from digitpad.core.explain import private_copy, saliency_of
from digitpad.core.preprocess import stroke_pixels
from digitpad.core.strokes import Stroke, StrokeSet, as_points
from digitpad.core.sample_digits import digit_strokes, transform
from digitpad.core.saliency_process import READY, SaliencyProcess, _newest


def pixels_of(digit: int) -> np.ndarray:
    return stroke_pixels(StrokeSet(280, 280, 18, [Stroke(as_points(s)) for s in transform(digit_strokes(digit))]))


def test_the_child_answers_with_the_maps_this_process_computes_and_ends_when_asked():
    trained = load_checkpoint(ASSETS_DIR / "mnist-cnn.pt")
    model = private_copy(trained.model)
    child = SaliencyProcess()
    try:
        assert child.answer(120) == READY  # its imports done
        child.ask(1, model, trained.meta, pixels_of(3))
        child.ask(2, model, trained.meta, pixels_of(7))
        answers = [child.answer(60)]
        while answers[-1][0] != 2:
            answers.append(child.answer(60))
    finally:
        child.close()
    assert not child.process.is_alive()
    serial, saliency = answers[-1]
    here = saliency_of(model, trained.meta, pixels_of(7))
    assert (saliency.label, saliency.second) == (here.label, here.second) and saliency.label == 7
    np.testing.assert_allclose(saliency.top, here.top, atol=1e-6)
    np.testing.assert_allclose(saliency.runner_up, here.runner_up, atol=1e-6)


class Pipe:
    """What the child reads, already sent: a list instead of a pipe."""

    def __init__(self, messages):
        self.messages = list(messages)

    def poll(self):
        return bool(self.messages)

    def recv(self):
        return self.messages.pop(0)


def test_drawing_faster_than_the_child_computes_skips_to_the_newest_drawing():
    pipe = Pipe([("model", "cnn", "meta"), ("pixels", 1, "a"), ("pixels", 2, "b"),
                 ("model", "mlp", "meta2"), ("pixels", 3, "c")])
    assert _newest(pipe, None) == (("mlp", "meta2"), (3, "c"))
    assert _newest(Pipe([("pixels", 4, "d"), None]), ("mlp", "meta2"))[1] is None  # asked to end: it ends
