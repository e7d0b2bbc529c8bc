"""Teach it your handwriting: the personal set on disk, fine-tuning, and `digitpad finetune`."""

from __future__ import annotations

import json
import os

import pytest
import torch

from digitpad.cli import main
from digitpad.core.checkpoints import load_checkpoint, save_checkpoint
from digitpad.core.finetune import FinetuneConfig, Finetuner, finetune_result
from digitpad.core.personal_set import (PersonalSetError, add_sample, delete_sample, load_personal_set,
                                        relabel_sample)
from digitpad.core.preprocess import stroke_pixels
from digitpad.core.sample_digits import MIRRORED_DIGITS, mirror_writing_set
from digitpad.core.events import EpochEnd, Finished, Progress
from helpers import refuse_writes

QUICK = dict(epochs=1, min_steps_per_epoch=3, mnist_test_limit=200)


def write_mirror_set(folder, per_digit, seed=1):
    for label, strokes in mirror_writing_set(per_digit, seed=seed):
        add_sample(folder, label, strokes, stroke_pixels(strokes))
    return folder


def run(base, personal, **config):
    events = list(Finetuner(base, personal, FinetuneConfig(**config)).run())
    assert isinstance(events[-1], Finished), events[-1]
    return events


def test_fine_tuning_learns_mirror_writing_without_forgetting_mnist(shipped_cnn, tmp_path):
    personal = load_personal_set(write_mirror_set(tmp_path / "mine", 20))
    assert len(personal.samples) == 20 * len(MIRRORED_DIGITS) and personal.skipped == []
    events = run(shipped_cnn, personal, mnist_test_limit=3000)
    assert any(isinstance(e, Progress) for e in events) and any(isinstance(e, EpochEnd) for e in events)
    model = events[-1].model
    result = finetune_result(model)
    assert result.n_holdout == 5 * len(MIRRORED_DIGITS)
    assert result.before < 0.70, "the shipped CNN should misread mirror writing"
    assert result.after > 0.95
    assert result.mnist_before - result.mnist_after < 0.005
    assert model.name == "mnist-cnn + my digits"
    saved = load_checkpoint(save_checkpoint(model, tmp_path / "mine.pt"))
    assert finetune_result(saved) == result
    assert torch.equal(saved.model.state_dict()["0.weight"], model.model.state_dict()["0.weight"])


def test_too_few_samples_are_trained_on_but_not_measured(shipped_cnn, tmp_path):
    personal = load_personal_set(write_mirror_set(tmp_path / "mine", 2))
    result = finetune_result(run(shipped_cnn, personal, **QUICK)[-1].model)
    assert result.n_holdout == 0 and result.before is None and result.after is None
    assert "Too few samples" in result.note
    assert result.mnist_after is not None


def test_stop_ends_fine_tuning_early(shipped_cnn, tmp_path):
    personal = load_personal_set(write_mirror_set(tmp_path / "mine", 2))
    tuner = Finetuner(shipped_cnn, personal, FinetuneConfig(epochs=50, mnist_test_limit=100))
    for event in tuner.run():
        if isinstance(event, Progress):
            tuner.control.stop()
    assert isinstance(event, Finished) and event.stopped


# --- the folder on disk ---------------------------------------------------------------------------

def test_half_written_and_foreign_files_are_skipped_with_a_message(tmp_path):
    root = write_mirror_set(tmp_path / "mine", 1)
    good = sorted((root / "7").glob("*.json"))[0]
    (root / "7" / "half.json").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (root / "3" / "notes.txt").write_text("my threes")
    (root / "3" / "fake.png").write_bytes(b"not a png at all")
    (root / "seven").mkdir()
    (root / "7" / ".half.json.abc.tmp").write_bytes(b"{")  # a save that never finished: silently ignored
    personal = load_personal_set(root)
    assert len(personal.samples) == len(MIRRORED_DIGITS)
    messages = "\n".join(personal.skipped)
    assert len(personal.skipped) == 4
    for name in ("half.json", "notes.txt", "fake.png", "seven"):
        assert name in messages
    assert ".tmp" not in messages


def test_images_and_strokes_mix_in_one_folder(tmp_path):
    from PIL import Image

    from digitpad.core.sample_digits import photo_like

    root = write_mirror_set(tmp_path / "mine", 1)
    (root / "4").mkdir()
    photo_like(4).save(root / "4" / "paper.png")
    personal = load_personal_set(root)
    assert personal.counts()[4] == 1 and personal.skipped == []
    assert Image.open(root / "4" / "paper.png").size == (640, 480)


def test_a_read_only_folder_refuses_to_save_with_a_clear_message(tmp_path, monkeypatch):
    root = write_mirror_set(tmp_path / "mine", 1)
    strokes = next(mirror_writing_set(1, seed=5))[1]
    os.chmod(root / "7", 0o555)
    if os.geteuid() == 0:
        refuse_writes(monkeypatch)
    try:
        with pytest.raises(PersonalSetError, match="cannot save the drawing in .*7: Permission denied"):
            add_sample(root, 7, strokes, stroke_pixels(strokes))
        monkeypatch.undo()
        assert load_personal_set(root).counts()[7] == 1  # still readable
    finally:
        os.chmod(root / "7", 0o755)


def test_relabel_moves_the_file_and_delete_removes_it(tmp_path):
    root = write_mirror_set(tmp_path / "mine", 1)
    seven = next((root / "7").glob("*.json"))
    moved = relabel_sample(seven, root, 1)
    assert moved.parent == root / "1" and not seven.exists()
    assert load_personal_set(root).counts()[1] == 1
    delete_sample(moved)
    assert load_personal_set(root).counts()[1] == 0


def test_saved_drawings_are_what_predict_strokes_reads(tmp_path, capsys):
    root = write_mirror_set(tmp_path / "mine", 1)
    path = next((root / "2").glob("*.json"))
    assert main(["predict", "--strokes", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["error"] is None


@pytest.mark.parametrize("layout, message", [("missing", "no such folder"), ("empty", "no digit folders"),
                                             ("no-samples", "no usable samples")])
def test_unusable_folders_are_clear_errors(tmp_path, capsys, layout, message):
    root = tmp_path / "mine"
    if layout != "missing":
        root.mkdir()
    if layout == "no-samples":
        (root / "3").mkdir()
    code = main(["finetune", "--samples", str(root), "--out", str(tmp_path / "x.pt")])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_cli_finetune_reports_bad_files_and_ends_with_a_json_line(tmp_path, capsys):
    root = write_mirror_set(tmp_path / "mine", 5)
    (root / "2" / "broken.json").write_text('{"width": 280, "hei')
    out = tmp_path / "new.pt"
    code = main(["finetune", "--samples", str(root), "--out", str(out), "--epochs", "1", "--test-limit", "200",
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "broken.json" in captured.err
    last = json.loads(captured.out.strip().splitlines()[-1])
    assert set(last) == {"before", "after", "mnist_before", "mnist_after", "n_samples", "n_holdout", "seconds"}
    assert last["n_samples"] == 30 and last["n_holdout"] == 6
    assert load_checkpoint(out).name == "new"
