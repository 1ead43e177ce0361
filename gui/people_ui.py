"""Wires the people panel, the session summary and face blurring into the main window.

Kept apart from `main_window.py` so the window only needs one line to get all three: this class adds
the two docks, the View menu (People panel `P`, Session summary `U`, Blur faces `B`), File > Export
summary… (`Ctrl+E`), connects the worker's `peopleReady` / `summaryReady` signals to the docks and its
own request signals to the worker's slots, and remembers the three switches in QSettings.
"""
from __future__ import annotations

import re
from pathlib import Path

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QMenu

from core.errors import OutputError
from gui.people_panel import PeoplePanel
from gui.settings import KEY_BLUR_FACES, KEY_PEOPLE_PANEL, KEY_SUMMARY_DIR, KEY_SUMMARY_PANEL, Preferences
from gui.status import STATUS_DONE_MS, STATUS_HINT_MS, STATUS_PROBLEM_MS
from gui.summary_view import SummaryDock
from pipeline.summary import check_summary_path, write_summary

SUMMARY_FILTER = "JSON (*.json);;CSV, one row per person (*.csv)"


def with_filter_suffix(path: str, chosen_filter: str) -> str:
    """`path` ending as the file type chosen in the save dialog (`*.csv` in "CSV ... (*.csv)") when the typed
    name has no ending of its own: the dialog adds none, and the type the user picked is the one meant."""
    if Path(path).suffix:
        return path
    match = re.search(r"\(\*(\.\w+)", chosen_filter or "")
    return path.rstrip(".") + (match.group(1) if match else ".json")   # `h.` gives h.csv, not h..csv


class PeopleFeatures(QObject):
    """The three features of issue 18, attached to a `MainWindow` and its `AnalysisWorker`."""

    requestBlur = pyqtSignal(bool)
    requestPeopleRows = pyqtSignal(bool)
    requestHighlight = pyqtSignal(int)

    def __init__(self, window: QMainWindow, prefs: Preferences, worker):
        super().__init__(window)
        self.window, self.prefs = window, prefs
        self.act_export = self._action("&Export summary…", "Save the session summary as JSON or CSV (Ctrl+E)",
                                       lambda: self.export_summary(), QKeySequence("Ctrl+E"))
        self.people = PeoplePanel(window)
        self.summary = SummaryDock(self.act_export, window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.people)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.summary)
        self.act_people = self.people.toggleViewAction()
        self.act_people.setText("&People panel")
        self.act_people.setShortcut(QKeySequence("P"))
        self.act_people.setStatusTip("One row per person in view, with probabilities (P)")
        self.act_summary = self.summary.toggleViewAction()
        self.act_summary.setText("Session s&ummary")
        self.act_summary.setShortcut(QKeySequence("U"))
        self.act_summary.setStatusTip("Distinct people seen since the stream started (U)")
        self.act_blur = self._action("&Blur faces", "Blur faces in the view, snapshots and recordings (B)",
                                     self.on_blur_toggled, QKeySequence("B"))
        self.act_blur.setCheckable(True)
        self._add_menus()

        worker.peopleReady.connect(self.people.show_rows)
        worker.sourceOpened.connect(self.summary.start_stream)
        worker.summaryReady.connect(self.summary.set_summary)
        self.requestBlur.connect(worker.set_blur)
        self.requestPeopleRows.connect(worker.set_people_wanted)
        self.requestHighlight.connect(worker.set_highlight)
        self.people.trackSelected.connect(self.requestHighlight)

        self.people.setVisible(prefs.flag(KEY_PEOPLE_PANEL))
        self.summary.setVisible(prefs.flag(KEY_SUMMARY_PANEL))
        self.act_blur.setChecked(prefs.flag(KEY_BLUR_FACES))
        self.act_people.toggled.connect(self.on_people_toggled)
        self.act_summary.toggled.connect(self.on_summary_toggled)
        self.requestBlur.emit(self.act_blur.isChecked())
        self.requestPeopleRows.emit(prefs.flag(KEY_PEOPLE_PANEL))

    def _action(self, text, tip, slot, shortcut) -> QAction:
        act = QAction(text, self.window)
        act.setStatusTip(tip)
        act.setToolTip(tip)
        act.setShortcut(shortcut)
        act.triggered.connect(slot)
        return act

    def _add_menus(self) -> None:
        bar = self.window.menuBar()
        menus = {a.text(): a.menu() for a in bar.actions() if a.menu() is not None}
        view = QMenu("&View", self.window)
        view.addActions([self.act_people, self.act_summary])
        view.addSeparator()
        view.addAction(self.act_blur)
        help_menu = menus.get("&Help")
        if help_menu is not None:
            bar.insertMenu(help_menu.menuAction(), view)
        else:
            bar.addMenu(view)
        file_menu = menus.get("&File")
        if file_menu is not None:
            quit_action = next((a for a in file_menu.actions() if a.text() == "&Quit"), None)
            file_menu.insertAction(quit_action, self.act_export)
        self.window.addAction(self.act_people)   # shortcuts work even while a dock is hidden
        self.window.addAction(self.act_summary)
        self.window.addAction(self.act_blur)

    # ---- slots ----
    def _save_dock_flag(self, key: str, visible: bool) -> None:
        # closing the window hides its docks too (the toggle actions then report False); only a show or
        # hide while the window is up is the user's choice
        if self.window.isVisible():
            self.prefs.set_flag(key, visible)

    def on_people_toggled(self, visible: bool) -> None:
        self._save_dock_flag(KEY_PEOPLE_PANEL, visible)
        self.requestPeopleRows.emit(visible)
        if not visible:
            self.requestHighlight.emit(-1)

    def on_summary_toggled(self, visible: bool) -> None:
        self._save_dock_flag(KEY_SUMMARY_PANEL, visible)

    def on_blur_toggled(self) -> None:
        blur = self.act_blur.isChecked()
        self.prefs.set_flag(KEY_BLUR_FACES, blur)
        self.requestBlur.emit(blur)
        self.window.statusBar().showMessage(
            "Faces are blurred in the view, snapshots and recordings." if blur else "Faces are no longer blurred.", STATUS_HINT_MS)

    def export_summary(self, path: str | None = None) -> Path | None:
        """Write the latest session summary (JSON, or CSV for a .csv name); asks for a name when none is given."""
        if not path:
            start = self.prefs.folder(KEY_SUMMARY_DIR) / "people_summary.json"
            path, chosen = QFileDialog.getSaveFileName(self.window, "Export session summary", str(start),
                                                       SUMMARY_FILTER)
            if not path:
                return None
            path = with_filter_suffix(path, chosen)
        try:
            check_summary_path(path)
            written = write_summary(self.summary.summary, path)
        except OutputError as exc:
            self.window.statusBar().showMessage(str(exc), STATUS_PROBLEM_MS)
            return None
        except (OSError, ValueError) as exc:
            self.window.statusBar().showMessage(f"Could not save the summary: {exc}. Choose another folder or name.",
                                                STATUS_PROBLEM_MS)
            return None
        self.prefs.set_folder(KEY_SUMMARY_DIR, written.parent)
        self.window.statusBar().showMessage(f"Summary saved: {written}", STATUS_DONE_MS)
        return written
