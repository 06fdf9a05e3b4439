"""A slow save shows its rate and the time left beside its bar."""

from __future__ import annotations

from mmhex.ui import editing


def test_save_progress_shows_rate_and_time_left(qtbot, monkeypatch):
    widget = editing.SaveProgress()
    qtbot.addWidget(widget)
    now = [100.0]
    monkeypatch.setattr(editing.time, "monotonic", lambda: now[0])

    class Task:
        running = True

        class progressed:  # a stand-in for the signal
            @staticmethod
            def connect(_slot):
                return None

    widget.start("Saving…", Task())
    now[0] = 102.0  # 2 s later, a quarter of 4 GiB written
    widget.set_progress(1 << 30, 4 << 30)
    assert widget.bar.value() == 250
    assert widget.rate_label.text() == "25% · 512 MiB/s · 0:06 left"
    assert widget.label.text() == "Saving…"
