"""One configuration: every setting's default and range in core.config, changes made by replacing the config."""
import pytest

from core.config import (CROP_SCALE_RANGE, DEFAULT_CROP_SCALE, PERSISTED_SETTINGS, AppConfig, setting_range,
                         slider_range)


def test_changed_returns_a_clamped_copy_and_leaves_the_original():
    config = AppConfig()
    changed = config.changed(crop_scale=5.0, detection_confidence=0.0, confirm_hits=0, smoothing=False)
    assert (changed.crop_scale, changed.detection_confidence, changed.confirm_hits) == (2.0, 0.01, 1)
    assert not changed.smoothing
    assert config == AppConfig() and config.crop_scale == DEFAULT_CROP_SCALE


def test_unknown_settings_are_refused():
    with pytest.raises(TypeError):
        AppConfig().changed(crop_scael=1.5)


def test_ranges_and_persisted_settings_live_on_the_fields():
    assert setting_range("crop_scale") == slider_range("crop_scale") == CROP_SCALE_RANGE
    assert slider_range("detection_confidence") == (0.05, 0.95)   # the toolbar's part of 0.01-0.99
    assert set(PERSISTED_SETTINGS) == {"crop_scale", "detection_confidence", "smoothing"}  # the stored keys


def test_training_uses_the_apps_face_extraction_range():
    from classification import cache, train
    assert cache.CACHE_SCALE == CROP_SCALE_RANGE[1]
    assert train.CROP_SCALE_RANGE is CROP_SCALE_RANGE


@pytest.mark.parametrize("name", ["crop_scale", "detection_confidence"])
def test_nan_is_refused_not_passed_through_every_bound(name):
    """max/min return NaN unchanged, so configure(crop_scale=nan) used to leave a run that found no face."""
    with pytest.raises(ValueError, match=f"{name} must be a number"):
        AppConfig().changed(**{name: float("nan")})
