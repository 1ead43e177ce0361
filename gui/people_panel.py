"""The people panel: a dock with one row per person in view.

Each row: a face thumbnail, the track id, gender with its probability ("?" or a "too small"/"too dark"
marker where the face's tag shows one; at most 99%, as on the tags), the eight age-group probabilities
as a small bar chart, the expected apparent age read from that distribution, and the time in view.
Rows arrive as `PersonRow` copies from the worker (a few times a second); the panel only displays them.
Selecting a row emits `trackSelected(track_id)` (-1: none), which the window forwards to the worker so
that person's box is highlighted.

The bar chart is painted by an item delegate straight from the row's numbers: no widget per cell, so a
refresh is a handful of item updates, cheap enough to keep the video's frame rate.
"""
from __future__ import annotations

from PyQt6.QtCore import QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QPainter, QPixmap
from PyQt6.QtWidgets import (QAbstractItemView, QDockWidget, QHeaderView, QLabel, QStyle, QStyledItemDelegate,
                             QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from core.face import gender_min_prob, shown_percent
from core.labels import AGE_GROUP_BOUNDS_YEARS, AGE_GROUPS
from gui.people_feed import THUMBNAIL_PX, PersonRow
from pipeline.annotate import COLOR_FEMALE_BGR, COLOR_MALE_BGR

COLUMNS = ("Face", "ID", "Gender", "Age groups", "Age ≈", "In view")
COL_FACE, COL_ID, COL_GENDER, COL_AGE_BARS, COL_APPARENT, COL_TIME = range(len(COLUMNS))
ROW_HEIGHT_PX = THUMBNAIL_PX + 8
AGE_BARS_WIDTH_PX = 170
BAR_TICKS = tuple(str(low) for low, _ in AGE_GROUP_BOUNDS_YEARS)   # each group's first year, under its bar
COLOR_FEMALE = QColor(*reversed(COLOR_FEMALE_BGR))   # the overlay's colours, so panel and video agree
COLOR_MALE = QColor(*reversed(COLOR_MALE_BGR))
COLOR_BAR = QColor(120, 130, 150)
COLOR_BAR_TOP = QColor(250, 190, 40)
ROLE_AGE_PROBS = Qt.ItemDataRole.UserRole + 1


def gender_color(gender: str | None) -> QColor:
    return COLOR_FEMALE if gender == "female" else COLOR_MALE if gender == "male" else QColor(160, 160, 160)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = max(0, int(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60}:{seconds % 60:02d}"


class AgeBarsDelegate(QStyledItemDelegate):
    """Paints eight bars (one per Adience age group) from the probabilities stored in the item."""

    def paint(self, painter: QPainter, option, index):
        probs = index.data(ROLE_AGE_PROBS)
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        if not probs:
            painter.setPen(option.palette.text().color())
            painter.drawText(option.rect, Qt.AlignmentFlag.AlignCenter, "settling…")
            painter.restore()
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(option.rect).adjusted(4, 4, -4, -2)
        tick_h = 11.0
        bars_h = rect.height() - tick_h
        slot_w = rect.width() / len(probs)
        top = max(range(len(probs)), key=lambda i: probs[i])
        font = QFont(painter.font())
        font.setPixelSize(9)
        painter.setFont(font)
        for i, p in enumerate(probs):
            h = max(1.0, bars_h * min(max(p, 0.0), 1.0))
            x = rect.left() + i * slot_w
            painter.fillRect(QRectF(x + 1.5, rect.top() + bars_h - h, slot_w - 3, h),
                             COLOR_BAR_TOP if i == top else COLOR_BAR)
            painter.setPen(option.palette.text().color())
            painter.drawText(QRectF(x, rect.top() + bars_h, slot_w, tick_h), Qt.AlignmentFlag.AlignCenter, BAR_TICKS[i])
        painter.restore()

    def sizeHint(self, option, index):
        hint = super().sizeHint(option, index)
        hint.setWidth(AGE_BARS_WIDTH_PX)
        return hint


class PeoplePanel(QDockWidget):
    """Dock listing the people in view; selection follows the track id across refreshes."""

    trackSelected = pyqtSignal(int)   # track id, or -1 when nothing is selected

    def __init__(self, parent=None):
        super().__init__("People in view", parent)
        self.setObjectName("people_panel")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT_PX)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.table.setItemDelegateForColumn(COL_AGE_BARS, AgeBarsDelegate(self.table))
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_AGE_BARS, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(COL_FACE, THUMBNAIL_PX + 8)
        self.table.horizontalHeaderItem(COL_AGE_BARS).setToolTip(
            "Probability of each age group: " + ", ".join(AGE_GROUPS) + " (the likeliest in yellow)")
        self.table.horizontalHeaderItem(COL_APPARENT).setToolTip(
            "Expected apparent age: the probability-weighted mean of the groups' middle ages")
        self.table.itemSelectionChanged.connect(self._on_selection)
        layout.addWidget(self.table)
        self.empty_note = QLabel("No one in view.")
        self.empty_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.empty_note)
        self.setWidget(body)
        self.selected_id: int | None = None
        self.rows: list[PersonRow] = []
        self.setMinimumWidth(430)

    def show_rows(self, rows: list[PersonRow]) -> None:
        """Replace the table's contents with these rows, keeping the selected person selected."""
        self.rows = sorted(rows, key=lambda r: (r.track_id is None, r.track_id or 0))
        table = self.table
        table.blockSignals(True)
        table.setRowCount(len(self.rows))
        reselect = None
        for r, person in enumerate(self.rows):
            self._fill(r, person)
            if person.track_id is not None and person.track_id == self.selected_id:
                reselect = r
        if reselect is None:
            table.clearSelection()
        else:
            table.selectRow(reselect)
        table.blockSignals(False)
        self.empty_note.setVisible(not self.rows)
        if self.selected_id is not None and reselect is None:  # the person left the view
            self.selected_id = None
            self.trackSelected.emit(-1)

    def _fill(self, r: int, person: PersonRow) -> None:
        def cell(col: int, text: str = "") -> QTableWidgetItem:
            item = self.table.item(r, col)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(r, col, item)
            item.setText(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            return item

        face = cell(COL_FACE)
        face.setData(Qt.ItemDataRole.DecorationRole, QPixmap.fromImage(person.thumbnail))
        cell(COL_ID, "–" if person.track_id is None else f"#{person.track_id}")
        # the same honesty as the face's tag: a marker, or "?" for a gender below its threshold
        shown = None if person.gender_unsure or person.unjudgeable else person.gender
        if person.unjudgeable:
            gender = cell(COL_GENDER, person.unjudgeable)
        elif person.gender is None:
            gender = cell(COL_GENDER, "…")
        elif person.gender_unsure:
            gender = cell(COL_GENDER, "?")
        else:
            gender = cell(COL_GENDER, f"{person.gender.capitalize()}\n{shown_percent(person.gender_prob)}")
        guess = f"{person.gender} {shown_percent(person.gender_prob)}" if person.gender else ""
        threshold = f"the {gender_min_prob(person.age_probs):.0%}" if person.age_probs else "its"
        gender.setToolTip(f"below {threshold} threshold: {guess}"
                          if person.gender_unsure and guess and not person.unjudgeable else "")
        gender.setForeground(gender_color(shown))
        bars = cell(COL_AGE_BARS)
        bars.setData(ROLE_AGE_PROBS, list(person.age_probs) if person.age_probs else None)
        if person.age_probs:
            bars.setToolTip("\n".join(f"{g}: {shown_percent(p)}" for g, p in zip(AGE_GROUPS, person.age_probs)))
        cell(COL_APPARENT, "–" if person.apparent_age is None else f"{person.apparent_age:.0f} y")
        cell(COL_TIME, format_duration(person.seconds_in_view))

    def _on_selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        track_id = self.rows[rows[0].row()].track_id if rows and rows[0].row() < len(self.rows) else None
        self.selected_id = track_id
        self.trackSelected.emit(-1 if track_id is None else track_id)
