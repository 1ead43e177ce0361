"""Annotators in the supervision style: small classes with one method, `annotate(scene, faces) -> scene`.

Sizes follow the frame (line width and text scale grow with the shorter side), so labels stay legible
on a 160x120 thumbnail and on a 4K frame alike.
"""
from __future__ import annotations

import cv2
import numpy as np

from pipeline.face import Face

COLOR_FEMALE_BGR = (180, 80, 240)
COLOR_MALE_BGR = (240, 160, 40)
COLOR_UNKNOWN_BGR = (200, 200, 200)
TEXT_LIGHT_BGR = (255, 255, 255)
TEXT_DARK_BGR = (20, 20, 20)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _style(scene: np.ndarray) -> tuple[int, float]:
    short_side_px = min(scene.shape[:2])
    thickness = max(1, int(round(short_side_px / 360)))
    font_scale = max(0.35, short_side_px / 900)
    return thickness, font_scale


def face_color(face: Face) -> tuple[int, int, int]:
    if face.gender == "female":
        return COLOR_FEMALE_BGR
    if face.gender == "male":
        return COLOR_MALE_BGR
    return COLOR_UNKNOWN_BGR


def _ipt(box) -> tuple[int, int, int, int]:
    return tuple(int(round(v)) for v in box)


class BoxAnnotator:
    """A rectangle around each face, coloured by gender (grey until classified)."""

    def annotate(self, scene: np.ndarray, faces: list[Face]) -> np.ndarray:
        thickness, _ = _style(scene)
        for face in faces:
            x1, y1, x2, y2 = _ipt(face.box)
            cv2.rectangle(scene, (x1, y1), (x2, y2), face_color(face), thickness, cv2.LINE_AA)
        return scene


class LabelAnnotator:
    """'Female | 25-32 | 87%' on a filled tag above each face (below it when the face touches the top)."""

    def __init__(self, show_track_id: bool = False):
        self.show_track_id = show_track_id

    def annotate(self, scene: np.ndarray, faces: list[Face]) -> np.ndarray:
        thickness, font_scale = _style(scene)
        text_thickness = max(1, thickness - 1) if thickness > 1 else 1
        height, width = scene.shape[:2]
        for face in faces:
            text = face.label()
            if self.show_track_id and face.track_id is not None:
                text = f"#{face.track_id} {text}"
            (tw, th), base = cv2.getTextSize(text, FONT, font_scale, text_thickness)
            x1, y1, _, y2 = _ipt(face.box)
            pad = max(2, th // 4)
            top = y1 - th - base - 2 * pad
            if top < 0:
                top = min(y2, height - th - base - 2 * pad)
            left = min(max(x1, 0), max(width - tw - 2 * pad, 0))
            color = face_color(face)
            text_color = TEXT_DARK_BGR if sum(color) > 500 else TEXT_LIGHT_BGR  # readable on light tags
            cv2.rectangle(scene, (left, top), (left + tw + 2 * pad, top + th + base + 2 * pad), color, -1)
            cv2.putText(scene, text, (left + pad, top + pad + th), FONT, font_scale, text_color, text_thickness, cv2.LINE_AA)
        return scene


class FaceAnnotator:
    """Boxes then labels: what the app draws."""

    def __init__(self, show_track_id: bool = False):
        self._steps = (BoxAnnotator(), LabelAnnotator(show_track_id))

    def annotate(self, scene: np.ndarray, faces: list[Face]) -> np.ndarray:
        for step in self._steps:
            scene = step.annotate(scene, faces)
        return scene
