"""The session summary dock: distinct people seen since the stream started, by gender and age group.

A `SummaryChart` paints the counts with QPainter (no plotting library: it redraws once a second in
well under a millisecond). The numbers come from the worker's `SessionSummary.to_dict()`; the dock
keeps the latest one so File > Export summary… can write it even after playback ended.
"""
from __future__ import annotations

from PyQt6.QtCore import QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QPainter
from PyQt6.QtWidgets import QDockWidget, QLabel, QPushButton, QVBoxLayout, QWidget

from core.labels import AGE_GROUPS
from gui.people_panel import BAR_TICKS, COLOR_BAR, COLOR_FEMALE, COLOR_MALE
from pipeline.summary import MIN_PERSON_FRAMES, MIN_PERSON_SEEN_S, UNSURE, SessionSummary


def empty_summary() -> dict:
    return SessionSummary().to_dict()


def fitting_labels(labels: list[str], slot_w: float, width_of) -> list[str]:
    """`labels` as they are when the widest fits its bar's slot (`width_of(text)`, in the slot's units); else
    each age group by its first year, as the people panel labels its bars: a narrow dock ran "25-32",
    "38-43" and "48-53" together."""
    if max(map(width_of, labels)) <= slot_w:
        return labels
    first_year = dict(zip(AGE_GROUPS, BAR_TICKS))
    return [first_year.get(label, label) for label in labels]


class SummaryChart(QWidget):
    """Two bar groups side by side: people by gender, people by age group (count over each bar); a `?` bar
    in each counts the people whose answer stayed under the screen's threshold (`unsure` in the summary)."""

    def __init__(self):
        super().__init__()
        self.summary = empty_summary()
        self.setMinimumHeight(150)
        self.setToolTip("People by gender and by age group: " + ", ".join(AGE_GROUPS)
                        + " (each group labelled by its first year where the dock is narrow); ? = unsure")

    def set_summary(self, summary: dict) -> None:
        self.summary = summary
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, 190)

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_color = self.palette().windowText().color()
        rect = QRectF(self.rect()).adjusted(8, 4, -8, -4)
        gender_w = rect.width() * 0.25
        by_gender = self.summary.get("by_gender", {})
        by_age = self.summary.get("by_age_group", {})
        peak = max([1, *by_gender.values(), *by_age.values()])
        self._bars(painter, QRectF(rect.left(), rect.top(), gender_w - 8, rect.height()),
                   [("F", by_gender.get("female", 0), COLOR_FEMALE), ("M", by_gender.get("male", 0), COLOR_MALE),
                    ("?", by_gender.get(UNSURE, 0), COLOR_BAR)], peak, text_color)
        self._bars(painter, QRectF(rect.left() + gender_w, rect.top(), rect.width() - gender_w, rect.height()),
                   [*((g, by_age.get(g, 0), COLOR_BAR) for g in AGE_GROUPS), ("?", by_age.get(UNSURE, 0), COLOR_BAR)],
                   peak, text_color)
        painter.end()

    @staticmethod
    def _bars(painter: QPainter, area: QRectF, bars: list[tuple[str, int, QColor]], peak: int, text_color) -> None:
        font = QFont(painter.font())
        font.setPixelSize(11)
        painter.setFont(font)
        label_h, count_h = 16.0, 15.0
        plot_h = area.height() - label_h - count_h
        slot_w = area.width() / len(bars)
        labels = fitting_labels([label for label, _, _ in bars], slot_w, painter.fontMetrics().horizontalAdvance)
        bars = [(label, count, color) for label, (_, count, color) in zip(labels, bars)]
        painter.setPen(text_color)
        painter.drawLine(int(area.left()), int(area.bottom() - label_h), int(area.right()), int(area.bottom() - label_h))
        for i, (label, count, color) in enumerate(bars):
            x = area.left() + i * slot_w
            h = plot_h * count / peak
            base = area.bottom() - label_h
            painter.fillRect(QRectF(x + slot_w * 0.15, base - h, slot_w * 0.7, h), color)
            painter.drawText(QRectF(x, base - h - count_h, slot_w, count_h), Qt.AlignmentFlag.AlignCenter, str(count))
            painter.drawText(QRectF(x - 4, base + 1, slot_w + 8, label_h), Qt.AlignmentFlag.AlignCenter, label)


class SummaryDock(QDockWidget):
    """The chart, a headline count, and an export button (the same action as File > Export summary…).

    The export action stays disabled until the first summary of a stream arrives, which is after its first
    frame: before anything has played there is nothing to export, and a file of zero people would only
    mislead. A new stream (`start_stream`) shows zero and disables it again until then."""

    def __init__(self, export_action, parent=None):
        super().__init__("Session summary", parent)
        self._export_action = export_action
        self.setObjectName("session_summary")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 4, 6, 4)
        self.headline = QLabel()
        self.headline.setStyleSheet("font-size: 14px; font-weight: bold;")
        self.headline.setToolTip(f"A person counts once however long they stay; tracks shorter than "
                                 f"{MIN_PERSON_SEEN_S:g} s or {MIN_PERSON_FRAMES} frames do not count. "
                                 f"Someone who leaves and comes back counts again (no re-identification).")
        layout.addWidget(self.headline)
        self.chart = SummaryChart()
        layout.addWidget(self.chart, 1)
        export = QPushButton("Export summary…")
        export.clicked.connect(export_action.trigger)
        export_action.changed.connect(lambda: export.setEnabled(export_action.isEnabled()))
        layout.addWidget(export, 0, Qt.AlignmentFlag.AlignRight)
        self.setWidget(body)
        self.start_stream()

    def start_stream(self, *_) -> None:
        """A stream was opened: nothing of it is counted yet (the signal's name and is_live are not needed)."""
        self._show(empty_summary())
        self._export_action.setEnabled(False)

    @property
    def summary(self) -> dict:
        return self.chart.summary

    def set_summary(self, summary: dict) -> None:
        """A summary from the worker: show it, and allow exporting it."""
        self._show(summary)
        self._export_action.setEnabled(True)

    def _show(self, summary: dict) -> None:
        n = summary.get("people", 0)
        self.headline.setText(f"{n} {'person' if n == 1 else 'people'} seen since the stream started")
        self.chart.set_summary(summary)
