"""Annotators in the supervision style: small classes with one method, `annotate(scene, faces) -> scene`.

Sizes follow the frame (line width and text scale grow with the shorter side), so labels stay legible
on a 160x120 thumbnail and on a 4K frame alike. Tags never overlap: `layout_tags` places each one above
its face, else below, else slid up or down, else at a smaller font (see its docstring).
"""
from __future__ import annotations

import cv2
import numpy as np

from core.face import Face
from core.geometry import intersection_area

COLOR_FEMALE_BGR = (180, 80, 240)
COLOR_MALE_BGR = (240, 160, 40)
COLOR_UNKNOWN_BGR = (200, 200, 200)      # not classified yet, or gender unsure ("?")
COLOR_UNJUDGEABLE_BGR = (110, 110, 110)  # too small / too dark to judge: a marker, not a label
TEXT_LIGHT_BGR = (255, 255, 255)
TEXT_DARK_BGR = (20, 20, 20)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _style(scene: np.ndarray) -> tuple[int, float]:
    short_side_px = min(scene.shape[:2])
    thickness = max(1, int(round(short_side_px / 360)))
    font_scale = max(0.35, short_side_px / 900)
    return thickness, font_scale


def face_color(face: Face) -> tuple[int, int, int]:
    if face.unjudgeable:
        return COLOR_UNJUDGEABLE_BGR
    if face.shown_gender == "female":
        return COLOR_FEMALE_BGR
    if face.shown_gender == "male":
        return COLOR_MALE_BGR
    return COLOR_UNKNOWN_BGR


Rect = tuple[int, int, int, int]  # (left, top, right, bottom), pixels, right/bottom exclusive

TAG_SHRINK_STEPS = (1.0, 0.8, 0.65)  # font scale factors tried in turn when a tag finds no free place
TAG_SLIDE_STEPS = 6                  # tag heights a tag may slide up or down from above/below its face


def _overlaps(a: Rect, b: Rect) -> bool:
    return intersection_area(a, b) > 0


def layout_tags(boxes: list, sizes: list[list[tuple[int, int]]], frame_size: tuple[int, int]) -> list[tuple[Rect, int] | None]:
    """Non-overlapping places for face tags: per face, (rect, index of the size used) or None.

    `sizes[i]` lists face i's tag (width, height) from the normal font down to the smallest one tried.
    Faces are placed top to bottom; each tag takes the first free spot of: just above its box, just
    below it, then sliding further up and down in steps of its own height, at the normal size first and
    then at each smaller one. Tags stay inside the frame, slid sideways when the box touches an edge. A
    tag that finds no free spot at all (a crowd packed tighter than its tags) is left out (None): an
    unreadable heap of tags helps nobody, and the box is still drawn.
    """
    width, height = frame_size
    placed: list[Rect] = []
    result: list[tuple[Rect, int] | None] = [None] * len(boxes)
    for i in sorted(range(len(boxes)), key=lambda k: (boxes[k][1], boxes[k][0])):
        x1, y1, _, y2 = (int(round(v)) for v in boxes[i])
        for size_index, (tw, th) in enumerate(sizes[i]):
            if tw > width or th > height:
                continue
            left = min(max(x1, 0), width - tw)
            tops = [y1 - th, y2]
            for k in range(1, TAG_SLIDE_STEPS + 1):
                tops += [y1 - th - k * th, y2 + k * th]
            spot = next((r for r in ((left, t, left + tw, t + th) for t in tops if 0 <= t <= height - th)
                         if not any(_overlaps(r, q) for q in placed)), None)
            if spot is not None:
                placed.append(spot)
                result[i] = (spot, size_index)
                break
    return result


def _ipt(box) -> tuple[int, int, int, int]:
    return tuple(int(round(v)) for v in box)


class BoxAnnotator:
    """A rectangle around each face, coloured by the shown gender (grey until classified or when unsure;
    a thin dark-grey one for faces too small or too dark to judge)."""

    def annotate(self, scene: np.ndarray, faces: list[Face]) -> np.ndarray:
        thickness, _ = _style(scene)
        for face in faces:
            x1, y1, x2, y2 = _ipt(face.box)
            line = 1 if face.unjudgeable else thickness
            cv2.rectangle(scene, (x1, y1), (x2, y2), face_color(face), line, cv2.LINE_AA)
        return scene


class LabelAnnotator:
    """'F 92% | 25-32 61%' on a filled tag by each face; tags are laid out so that none overlaps another.

    Each part carries its own probability ('?' when unsure); faces too small or too dark to judge get a
    smaller grey 'too small' / 'too dark' marker instead.
    """

    MARKER_FONT_FACTOR = 0.8  # markers are less important than labels: a smaller font

    def __init__(self, show_track_id: bool = False):
        self.show_track_id = show_track_id

    def annotate(self, scene: np.ndarray, faces: list[Face]) -> np.ndarray:
        thickness, font_scale = _style(scene)
        text_thickness = max(1, thickness - 1) if thickness > 1 else 1
        height, width = scene.shape[:2]
        texts, scales, sizes = [], [], []
        for face in faces:
            text = face.label()
            if self.show_track_id and face.track_id is not None:
                text = f"#{face.track_id} {text}"
            base_scale = font_scale * (self.MARKER_FONT_FACTOR if face.unjudgeable else 1.0)
            face_scales = [base_scale * f for f in TAG_SHRINK_STEPS]
            face_sizes = []
            for fs in face_scales:
                (tw, th), base = cv2.getTextSize(text, FONT, fs, text_thickness)
                pad = max(2, th // 4)
                face_sizes.append((tw + 2 * pad, th + base + 2 * pad))
            texts.append(text)
            scales.append(face_scales)
            sizes.append(face_sizes)
        places = layout_tags([f.box for f in faces], sizes, (width, height))
        for face, text, face_scales, place in zip(faces, texts, scales, places):
            if place is None:
                continue
            (left, top, right, bottom), k = place
            (_, th), _ = cv2.getTextSize(text, FONT, face_scales[k], text_thickness)
            pad = max(2, th // 4)
            color = face_color(face)
            text_color = TEXT_DARK_BGR if sum(color) > 500 else TEXT_LIGHT_BGR  # readable on light tags
            cv2.rectangle(scene, (left, top), (right - 1, bottom - 1), color, -1)
            cv2.putText(scene, text, (left + pad, top + pad + th), FONT, face_scales[k], text_color,
                        text_thickness, cv2.LINE_AA)
        return scene


class FaceAnnotator:
    """Boxes then labels: what the app draws."""

    def __init__(self, show_track_id: bool = False):
        self._steps = (BoxAnnotator(), LabelAnnotator(show_track_id))

    def annotate(self, scene: np.ndarray, faces: list[Face]) -> np.ndarray:
        for step in self._steps:
            scene = step.annotate(scene, faces)
        return scene
