"""Slow work runs on a thread; its result and its errors come back on the GUI thread."""

import threading


def test_results_and_errors_arrive_on_the_gui_thread(qtbot):
    from digitpad.gui.common.worker import Worker, run_call

    def work(x: int) -> tuple[int, str]:
        return x * 2, threading.current_thread().name

    def fail() -> None:
        raise OSError("disk gone")

    arrived = []

    def then(result, error):
        arrived.append((result, error, threading.current_thread()))

    run_call(work, 21, name="test-work", then=then)
    run_call(fail, name="test-fail", then=then)
    qtbot.waitUntil(lambda: len(arrived) == 2, timeout=5_000)
    Worker.join_all()
    assert Worker.running() == []
    results = {r[0][0] if r[0] else None: r for r in arrived}
    assert results[42][0] == (42, "test-work") and results[42][1] is None
    assert isinstance(results[None][1], OSError) and "disk gone" in str(results[None][1])
    assert all(thread is threading.main_thread() for *_, thread in arrived)


def test_a_generator_worker_dispatches_events_by_type_and_stops_at_close(qtbot):
    """The one mechanism behind training, fine-tuning and file I/O: events by type on the GUI thread,
    the generator's return value last, and join_all() stopping what still runs."""
    from digitpad.core.events import RunControl
    from digitpad.gui.common.worker import Worker

    control = RunControl()

    def count(n: int):
        for i in range(n):
            if control.stopped:
                return "stopped"
            yield i if i % 2 else str(i)
            threading.Event().wait(0.01)
        return "done"

    ints, strs, returned = [], [], []
    worker = Worker(count, 5, name="test-count")
    worker.on(int, lambda v: ints.append((v, threading.current_thread()))).on(str, strs.append)
    worker.returned.connect(returned.append)
    with qtbot.waitSignal(worker.finished, timeout=5_000):
        worker.start()
    assert [v for v, _ in ints] == [1, 3] and strs == ["0", "2", "4"] and returned == ["done"]
    assert all(t is threading.main_thread() for _, t in ints)

    endless = Worker(count, 10**9, name="test-endless", control=control)
    endless.returned.connect(returned.append)
    endless.start()
    qtbot.wait(50)
    Worker.join_all()
    assert not endless.thread.isRunning() and Worker.running() == []
    qtbot.waitUntil(lambda: returned[-1] == "stopped", timeout=5_000)
