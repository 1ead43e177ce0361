"""Persist the user's choices (QSettings) and map them onto `AppConfig`."""
from __future__ import annotations

import math

from PyQt6.QtCore import QSettings

from core.config import AppConfig

ORGANIZATION = "FaceAgeGender"
APPLICATION = "FaceAgeGender"
PERSISTED_FIELDS = ("crop_scale", "detection_confidence", "smoothing")


def open_settings() -> QSettings:
    return QSettings(ORGANIZATION, APPLICATION)


def load_into(settings: QSettings, config: AppConfig, overridden: set[str] = frozenset()) -> AppConfig:
    """Fill `config` from stored values, except fields the command line set explicitly."""
    for name in PERSISTED_FIELDS:
        if name in overridden or not settings.contains(name):
            continue
        current = getattr(config, name)
        value = settings.value(name)
        try:
            if isinstance(current, bool):
                value = str(value).lower() in ("1", "true", "yes")
            else:
                value = type(current)(value)
        except (TypeError, ValueError):
            continue
        if isinstance(value, float) and not math.isfinite(value):  # a hand-edited or damaged settings file
            continue
        setattr(config, name, value)
    return config.clamp()


def save_from(settings: QSettings, config: AppConfig) -> None:
    for name in PERSISTED_FIELDS:
        settings.setValue(name, getattr(config, name))


def load_flag(settings: QSettings, name: str, default: bool = False) -> bool:
    """A stored on/off choice (QSettings' INI files give strings back, so read them leniently)."""
    return str(settings.value(name, default)).lower() in ("1", "true", "yes")


def save_flag(settings: QSettings, name: str, value: bool) -> None:
    settings.setValue(name, "true" if value else "false")
