"""People panel, session summary and blur in the real window (offscreen), while the demo clip plays."""
import json

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from gui.people_panel import COL_APPARENT, COL_FACE, COL_GENDER, COL_ID, COL_TIME, ROLE_AGE_PROBS  # noqa: E402
from pipeline.analyzer import FaceAnalyzer  # noqa: E402
from tests.conftest import FakeClassifier, FakeDetector  # noqa: E402

DEMO_BOXES = [(250, 110, 440, 340), (20, 330, 120, 450)]   # the demo clip is 640x480; the first is its face


def demo_factory(config):
    return FaceAnalyzer(config, detector=FakeDetector([DEMO_BOXES]), classifier=FakeClassifier(
        [("female", 0.9, np.eye(8)[4] * 0.8 + 0.025), ("male", 0.8, np.eye(8)[6] * 0.8 + 0.025)]))


@pytest.fixture
def make_window(open_window):
    def make():
        from gui.main_window import DEMO_CLIP
        window = open_window(str(DEMO_CLIP), demo_factory)
        window.act_loop.setChecked(True)   # what File > Play demo clip does
        window.toggle_loop()
        return window
    return make


def view_pixels(window) -> np.ndarray:
    image = window.view.image
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3] \
        .reshape(image.height(), image.width(), 3).copy()


def test_people_panel_opens_while_the_demo_plays_and_selection_highlights(make_window, qtbot, settings):
    window = make_window()
    features = window.people_ui
    qtbot.waitUntil(lambda: window.frames_shown >= 3, timeout=20000)
    assert features.people.isHidden()
    features.act_people.trigger()                       # View > People panel (P)
    assert not features.people.isHidden()
    table = features.people.table
    qtbot.waitUntil(lambda: table.rowCount() == 2 and table.item(0, COL_GENDER).text() != "…", timeout=10000)
    assert [table.item(r, COL_ID).text() for r in range(2)] == ["#1", "#2"]
    assert table.item(0, COL_GENDER).text().startswith("Female\n90%")
    # 80% is below the gender threshold (85%): "?" as on the face's tag, the guess only in the tooltip
    assert table.item(1, COL_GENDER).text() == "?"
    assert "male 80%" in table.item(1, COL_GENDER).toolTip()
    assert len(table.item(0, 3).data(ROLE_AGE_PROBS)) == 8
    assert table.item(0, COL_APPARENT).text().endswith(" y")
    assert table.item(0, COL_TIME).text().endswith(" s")
    assert not table.item(0, COL_FACE).data(1).isNull()          # the thumbnail (DecorationRole)
    assert settings.value("people_panel") == "true"

    table.selectRow(1)                                  # select person #2: the worker highlights its box
    qtbot.waitUntil(lambda: window.worker.people.highlight_id == 2, timeout=5000)
    x1, y1, x2, y2 = DEMO_BOXES[1]
    qtbot.waitUntil(lambda: _yellow_pixels(view_pixels(window)[y1 - 12:y1 - 2, x1:x2]) > 20, timeout=5000)
    qtbot.wait(500)                                      # refreshes keep the selection on the same person
    assert features.people.selected_id == 2 and table.selectionModel().selectedRows()[0].row() == 1

    features.act_people.trigger()                       # closing the panel stops rows and the highlight
    qtbot.waitUntil(lambda: window.worker.people.highlight_id is None and not window.worker.people.rows_wanted,
                    timeout=5000)
    assert settings.value("people_panel") == "false"


def _yellow_pixels(region_rgb):
    r, g, b = (region_rgb[..., i].astype(int) for i in range(3))
    return int(((r > 200) & (g > 180) & (b < 80)).sum())


def test_session_summary_counts_people_and_exports(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window()
    features = window.people_ui
    features.act_summary.trigger()
    qtbot.waitUntil(lambda: features.summary.summary["people"] == 2, timeout=15000)
    assert "2 people seen" in features.summary.headline.text()
    qtbot.wait(1200)                                     # still the same two people, however long they stay
    assert features.summary.summary["people"] == 2
    path = features.export_summary(str(tmp_path / "summary.json"))
    data = json.loads(path.read_text())
    # the man's P(male) 0.8 is under the screen's 0.85, so the panel shows '?' and the summary 'unsure'
    assert data["people"] == 2 and data["by_gender"] == {"male": 0, "female": 1, "unsure": 1}
    assert data["by_age_group"]["25-32"] == 1 and data["by_age_group"]["48-53"] == 1
    assert {p["track_id"] for p in data["people_list"]} == {1, 2}
    csv_path = features.export_summary(str(tmp_path / "summary.csv"))
    assert len(csv_path.read_text().splitlines()) == 3
    # a name typed without an ending in the dialog gets the type chosen there (it used to be .json always)
    from gui import people_ui
    for chosen, suffix in (("CSV, one row per person (*.csv)", ".csv"), ("JSON (*.json)", ".json")):
        monkeypatch.setattr(people_ui.QFileDialog, "getSaveFileName",
                            lambda *a, chosen=chosen: (str(tmp_path / "typed"), chosen))
        assert features.export_summary() == tmp_path / f"typed{suffix}"


def test_blur_switch_blurs_the_view_and_switches_persist(make_window, qtbot, settings):
    window = make_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 3, timeout=20000)
    x1, y1, x2, y2 = DEMO_BOXES[0]

    def detail():   # high-frequency energy inside the box (the outline left out)
        region = view_pixels(window)[y1 + 6:y2 - 6, x1 + 6:x2 - 6].astype(int)
        return np.abs(np.diff(region, axis=1)).mean()

    sharp = detail()
    window.people_ui.act_blur.trigger()                 # View > Blur faces (B)
    qtbot.waitUntil(lambda: detail() < sharp / 3, timeout=5000)
    assert settings.value("blur_faces") == "true"
    window.people_ui.act_people.trigger()
    window.close()                                      # closing the window does not count as hiding the panel
    again = make_window()
    assert again.people_ui.act_blur.isChecked() and not again.people_ui.people.isHidden()
    qtbot.waitUntil(lambda: again.worker.people.rows_wanted, timeout=5000)
    qtbot.waitUntil(lambda: again.worker.people.blur, timeout=5000)


def test_feed_counts_a_looped_photo_once_and_throttles_rows(tmp_path):
    from core.face import Face
    from gui.people_feed import PANEL_REFRESH_HZ, PeopleFeed
    from pipeline.sources import open_source
    from tests.conftest import FIXTURES

    photo = open_source(str(FIXTURES / "two_faces.jpg"))
    faces = [Face(b, 0.9).with_classification("male", 0.7, np.eye(8)[5]) for b in DEMO_BOXES]
    feed = PeopleFeed()
    feed.start(photo)
    for _ in range(3):                                   # Loop on: the same photo again and again
        photo.rewind()
        frame = photo.read()
        feed.observe(frame, faces)
    assert feed.final_summary()["people"] == 2

    clock = [0.0]
    video = open_source(str(FIXTURES / "two_faces.mp4"))
    feed = PeopleFeed(clock=lambda: clock[0])
    feed.start(video)
    feed.rows_wanted = True
    frame = np.zeros((240, 320, 3), np.uint8)
    tracked = [Face(b, 0.9, i + 1) for i, b in enumerate([(10, 10, 60, 60), (100, 10, 150, 60)])]
    sent = 0
    for i in range(30):                                  # 30 frames in one second of wall time
        clock[0] = i / 30
        feed.observe(frame, tracked)
        rows, _ = feed.take_updates()
        if rows is not None:
            sent += 1
            assert [r.track_id for r in rows] == [1, 2] and rows[0].thumbnail.width() == 56
            assert rows[0].gender is None and rows[0].seconds_in_view == pytest.approx(i / video.fps)
    assert sent == PANEL_REFRESH_HZ
    video.close()


def test_export_waits_for_a_summary_from_a_stream(qtbot):
    from PyQt6.QtGui import QAction
    from PyQt6.QtWidgets import QPushButton

    from gui.summary_view import SummaryDock, empty_summary
    action = QAction("Export summary…")
    dock = SummaryDock(action)
    qtbot.addWidget(dock)
    button = dock.findChild(QPushButton)
    assert not action.isEnabled() and not button.isEnabled()   # nothing has played: nothing to export
    dock.set_summary(empty_summary())                          # the worker's first summary of a stream
    assert action.isEnabled() and button.isEnabled()
    dock.set_summary({**empty_summary(), "people": 3})
    dock.start_stream("next.mp4", False)                       # a new source: nothing of it counted yet
    assert not action.isEnabled() and "0 people" in dock.headline.text()


def test_opening_a_source_sends_no_summary_before_its_first_frame(qtbot):
    """The worker used to send an empty summary when a source opened, which enabled Export at 0 people."""
    from core.config import AppConfig
    from gui.worker import AnalysisWorker
    from tests.conftest import FIXTURES
    worker = AnalysisWorker(AppConfig())                  # no analyzer loaded: open_source needs none
    sent = []
    worker.summaryReady.connect(sent.append)
    worker.open_source(str(FIXTURES / "two_faces.mp4"))
    assert sent == [] and worker.source is not None
    worker.stop_source()
    assert len(sent) == 1     # closing a stream still sends its whole summary


def test_a_typed_name_gets_the_chosen_type_once():
    from gui.people_ui import with_filter_suffix
    csv_filter = "CSV, one row per person (*.csv)"
    assert with_filter_suffix("/t/h", csv_filter) == "/t/h.csv"
    assert with_filter_suffix("/t/h.", csv_filter) == "/t/h.csv"           # was h..csv
    assert with_filter_suffix("/t/d.json", csv_filter) == "/t/d.json"      # a typed ending wins
    assert with_filter_suffix("/t/a", "") == "/t/a.json"


def test_summary_age_labels_shorten_to_first_years_only_when_they_do_not_fit():
    """A narrow dock ran "25-32", "38-43" and "48-53" together under the bars."""
    from core.labels import AGE_GROUPS
    from gui.summary_view import fitting_labels
    labels = [*AGE_GROUPS, "?"]
    assert fitting_labels(labels, 6, len) == labels                       # "60-100" is 6 wide: it fits
    assert fitting_labels(labels, 5, len) == ["0", "4", "8", "15", "25", "38", "48", "60", "?"]
    assert fitting_labels(["F", "M", "?"], 1, len) == ["F", "M", "?"]
