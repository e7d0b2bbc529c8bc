"""Overfitting on the real data: the Training tab's preset, the weight decay setting, and overlays that say
which curve is which."""

from PySide6.QtCore import Qt

from digitpad.cli import main
from digitpad.core.checkpoints import load_checkpoint
from helpers import click, legend_texts, row_of


def test_the_overfitting_preset_shows_the_gap_and_overlays_name_every_curve(qtbot, window, mnist):
    tab, panel = window.training, window.training.runs
    click(qtbot, tab.overfit_button)
    assert tab.model.currentData() == "mlp" and tab.subset.currentText() == "1,000"
    assert (tab.epochs.value(), tab.optimizer.currentData(), tab.lr.value()) == (30, "adam", 0.001)
    assert tab.weight_decay.value() == 0.0 and "Overfitting" in tab.status.text()
    assert "near 88 %" in tab.overfit_button.toolTip()
    tab.epochs.setValue(8)  # the gap is there by epoch 8; 30 epochs show it growing
    tab.device.setCurrentIndex(tab.device.findData("cpu"))
    tab.test_limit = 1000
    for decay in (0.0, 0.01):
        tab.weight_decay.setValue(decay)
        with qtbot.waitSignal(tab.model_trained, timeout=120_000):
            click(qtbot, tab.start_button)
        qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
        if decay == 0.0:
            train, test = tab.charts.train_y[-1], tab.charts.test_y[-1]
            assert train >= 0.97 and train - test >= 0.06  # learnt by heart, and not as well on new digits
    first, second = panel.records
    assert (first.config["weight_decay"], second.config["weight_decay"]) == (0.0, 0.01)
    panel.table.item(row_of(panel, first.id), 0).setCheckState(Qt.CheckState.Checked)
    assert legend_texts(tab.charts.loss_plot)[1:] == ["weight decay 0.01 (this run)"]
    assert [label.text for _, label in tab.charts.runs_legend.items] == ["weight decay 0", "test accuracy",
                                                                         "train accuracy"]
    panel.table.item(row_of(panel, first.id), 0).setCheckState(Qt.CheckState.Unchecked)
    assert legend_texts(tab.charts.acc_plot) == ["train acc", "test acc"]


def test_train_takes_the_preset_and_a_weight_decay_from_the_command_line(tmp_path, capsys, mnist):
    out = tmp_path / "overfit.pt"
    status = main(["train", "--preset", "overfit", "--epochs", "2", "--test-limit", "200", "--weight-decay", "0.01",
                   "--device", "cpu", "--out", str(out), "--runs-dir", str(tmp_path / "runs")])
    assert status == 0, capsys.readouterr().err
    config = load_checkpoint(out).meta.config
    assert (config["model"], config["train_limit"], config["weight_decay"]) == ("mlp", 1000, 0.01)


def test_a_bad_weight_decay_is_refused_naming_the_flag(capsys):
    try:
        main(["train", "--weight-decay", "-0.1"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "argument --weight-decay: must be in [0, 1]" in capsys.readouterr().err
