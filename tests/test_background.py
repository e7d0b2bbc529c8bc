"""Slow work runs on a thread; its result and its errors come back on the GUI thread."""

import threading


def test_results_and_errors_arrive_on_the_gui_thread(qtbot):
    from digitpad.gui.background import BackgroundCall

    def work(x: int) -> tuple[int, str]:
        return x * 2, threading.current_thread().name

    def fail() -> None:
        raise OSError("disk gone")

    arrived = []
    ok = BackgroundCall(work, 21, name="test-work")
    bad = BackgroundCall(fail, name="test-fail")
    for call in (ok, bad):
        call.done.connect(lambda result, error: arrived.append((result, error, threading.current_thread())))
    with qtbot.waitSignals([ok.done, bad.done], timeout=5_000):
        ok.start()
        bad.start()
    BackgroundCall.join_all()
    assert BackgroundCall.running() == 0
    results = {r[0][0] if r[0] else None: r for r in arrived}
    assert results[42][0] == (42, "test-work") and results[42][1] is None
    assert isinstance(results[None][1], OSError) and "disk gone" in str(results[None][1])
    assert all(thread is threading.main_thread() for *_, thread in arrived)
