"""Everything the GUI remembers between runs, in one module: the only place that knows QSettings keys.

`Preferences` wraps a QSettings store: the `AppConfig` settings marked `persist` in `core.config`
(face-extraction size, detection confidence, smoothing), and the window's own choices (loop, camera,
folders, geometry, the people-panel switches). Values read back are checked: QSettings' INI files give
strings, and a hand-edited or damaged file must not break the app.
"""
from __future__ import annotations

import math
from pathlib import Path

from PyQt6.QtCore import QByteArray, QSettings

from core.config import PERSISTED_SETTINGS, AppConfig, slider_range

ORGANIZATION = "FaceAgeGender"
APPLICATION = "FaceAgeGender"

# the window's own choices (the AppConfig ones are stored under their field names)
KEY_LOOP = "loop"
KEY_CAMERA = "camera"
KEY_GEOMETRY = "geometry"
KEY_LAST_DIR = "last_dir"            # File > Open video… starts here
KEY_SNAPSHOT_DIR = "snapshot_dir"
KEY_RECORD_DIR = "record_dir"
KEY_SUMMARY_DIR = "summary_dir"
KEY_PEOPLE_PANEL = "people_panel"
KEY_SUMMARY_PANEL = "summary_panel"
KEY_BLUR_FACES = "blur_faces"
DEFAULT_FOLDERS = {KEY_LAST_DIR: Path.home(), KEY_SNAPSHOT_DIR: Path.home() / "Pictures",
                   KEY_RECORD_DIR: Path.home() / "Videos", KEY_SUMMARY_DIR: Path.home()}

# Version 1 (until session 15) wrote every AppConfig setting on the way out, chosen or not, so a default
# measured anew never reached anyone who had opened the app once. Version 2 stores only the settings that
# differ from their defaults. A version-1 store's value equal to that version's default is taken as not
# chosen and ignored: the face-extraction size's default was 1.2 in sessions 8-15 and is 1.4 since.
KEY_SETTINGS_VERSION = "settings_version"
SETTINGS_VERSION = 2
VERSION_1_DEFAULTS = {"crop_scale": 1.2}


def open_settings() -> QSettings:
    return QSettings(ORGANIZATION, APPLICATION)


def load_into(settings: QSettings, config: AppConfig, overridden: set[str] = frozenset()) -> AppConfig:
    """`config` with the stored settings applied (clamped), except those the command line set explicitly."""
    stored = {}
    version_1 = not settings.contains(KEY_SETTINGS_VERSION)
    for name in PERSISTED_SETTINGS:
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
        low, high = slider_range(name)
        if not isinstance(value, bool) and ((low is not None and value < low) or (high is not None and value > high)):
            continue   # the window's sliders never store such a value: damaged, and its slider could not show it
        if version_1 and VERSION_1_DEFAULTS.get(name) == value:  # written for everyone, not chosen
            continue
        stored[name] = value
    return config.changed(**stored)


def save_from(settings: QSettings, config: AppConfig, keep: set[str] = frozenset()) -> None:
    """Store the settings that differ from their defaults; a setting back at its default follows the default.
    The names in `keep` (given on the command line for this run only) leave the stored value as it was."""
    defaults = AppConfig()
    for name in PERSISTED_SETTINGS:
        if name in keep:
            continue
        value = getattr(config, name)
        if value == getattr(defaults, name):
            settings.remove(name)
        else:
            settings.setValue(name, value)
    settings.setValue(KEY_SETTINGS_VERSION, SETTINGS_VERSION)


def load_flag(settings: QSettings, name: str, default: bool = False) -> bool:
    """A stored on/off choice (QSettings' INI files give strings back, so read them leniently)."""
    return str(settings.value(name, default)).lower() in ("1", "true", "yes")


def save_flag(settings: QSettings, name: str, value: bool) -> None:
    settings.setValue(name, "true" if value else "false")


class Preferences:
    """The GUI's remembered choices over one QSettings store (the user's, or a test's own file)."""

    def __init__(self, settings: QSettings):
        self.store = settings

    # the AppConfig settings
    def load_config(self, config: AppConfig, overridden: set[str] = frozenset()) -> AppConfig:
        return load_into(self.store, config, overridden)

    def save_config(self, config: AppConfig, keep: set[str] = frozenset()) -> None:
        save_from(self.store, config, keep)

    # on/off switches
    def flag(self, key: str, default: bool = False) -> bool:
        return load_flag(self.store, key, default)

    def set_flag(self, key: str, value: bool) -> None:
        save_flag(self.store, key, value)

    # folders
    def folder(self, key: str) -> Path:
        return Path(str(self.store.value(key, str(DEFAULT_FOLDERS[key]))))

    def set_folder(self, key: str, folder: str | Path) -> None:
        self.store.setValue(key, str(folder))

    # the camera and the window
    def camera(self) -> int:
        """The camera last opened (0 when none was, or the stored value is not a number)."""
        try:
            return int(self.store.value(KEY_CAMERA, 0))
        except (TypeError, ValueError):
            return 0

    def set_camera(self, index: int) -> None:
        self.store.setValue(KEY_CAMERA, int(index))

    def geometry(self) -> QByteArray | None:
        return self.store.value(KEY_GEOMETRY)

    def set_geometry(self, geometry: QByteArray) -> None:
        self.store.setValue(KEY_GEOMETRY, geometry)

    def sync(self) -> None:
        self.store.sync()
