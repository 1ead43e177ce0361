import numpy as np
import pytest

from core.crop import square_crop
from core.images import FrameError, to_bgr


def frame(h=100, w=160):
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 1] = 200
    return img


def test_centre_crop_is_square_of_the_requested_scale():
    crop = square_crop(frame(), (60, 30, 100, 60), scale=1.5)
    assert crop.shape == (60, 60, 3)  # longer side 40 * 1.5
    assert (crop[:, :, 1] == 200).all()  # fully inside: no padding


@pytest.mark.parametrize("box", [(0, 0, 30, 30), (130, 0, 160, 30), (0, 70, 30, 100), (130, 70, 160, 100)])
def test_corner_faces_are_padded_not_shifted(box):
    crop = square_crop(frame(), box, scale=2.0)
    assert crop.shape == (60, 60, 3)
    padded = (crop.sum(axis=2) == 0)
    assert padded.any() and not padded.all()
    # the face stays centred: the centre pixel is image content
    assert crop[30, 30, 1] == 200


def test_edge_face_keeps_proportions():
    crop = square_crop(frame(), (70, 0, 110, 20), scale=1.0)  # wide box at the top edge
    assert crop.shape == (40, 40, 3)
    assert (crop[:10].sum(axis=2) == 0).all()  # the 10 rows above the frame are padding
    assert (crop[10:30, :, 1] == 200).all()


def test_crop_larger_than_frame():
    crop = square_crop(frame(20, 30), (5, 5, 25, 15), scale=2.0)
    assert crop.shape == (40, 40, 3)
    assert (crop[:, :, 1] == 200).sum() == 20 * 30


def test_tiny_and_degenerate_boxes():
    assert square_crop(frame(), (50, 50, 50.4, 50.4), scale=1.0).shape == (1, 1, 3)
    assert square_crop(frame(), (50, 50, 52, 51), scale=1.0, size_px=64).shape == (64, 64, 3)


def test_box_outside_frame_gives_padding():
    crop = square_crop(frame(), (500, 500, 520, 520), scale=1.0, size_px=16)
    assert crop.shape == (16, 16, 3) and crop.max() == 0


def test_resize_to_classifier_size():
    assert square_crop(frame(), (10, 10, 90, 90), 1.3, size_px=112).shape == (112, 112, 3)


@pytest.mark.parametrize("shape", [(100, 160), (100, 160, 1), (100, 160, 4)])
def test_grey_and_bgra_input(shape):
    img = np.full(shape, 77, np.uint8)
    crop = square_crop(img, (40, 20, 80, 60), 1.5)
    assert crop.shape == (60, 60, 3) and crop.dtype == np.uint8


def test_to_bgr_rejects_garbage():
    for bad in (None, np.zeros((0, 0, 3), np.uint8), np.zeros((4, 4, 2), np.uint8), np.zeros(5)):
        with pytest.raises(FrameError):
            to_bgr(bad)


def test_to_bgr_float_frames():
    out = to_bgr(np.full((4, 4, 3), 0.5, np.float32))
    assert out.dtype == np.uint8 and out[0, 0, 0] == 127


def test_to_bgr_scales_16_bit_frames_instead_of_clipping():
    """A 16-bit PNG spans 0-65535: clipping at 255 made every photo a white frame."""
    ramp = (np.arange(0, 256, dtype=np.uint16) * 257).reshape(16, 16)
    out = to_bgr(ramp)
    assert out.dtype == np.uint8 and out.shape == (16, 16, 3)
    np.testing.assert_array_equal(out[:, :, 0], np.arange(256).reshape(16, 16))
    colour = np.dstack([ramp, ramp // 2, np.full_like(ramp, 65535), np.full_like(ramp, 65535)])  # 16-bit BGRA
    out = to_bgr(colour)
    assert out.shape == (16, 16, 3) and out[..., 2].min() == 255 and out[0, 1, 1] == 0 and out[-1, -1, 1] == 127
    assert to_bgr(np.full((4, 4), -1.0, np.float32)).max() == 0  # odd ranges do not crash


@pytest.mark.parametrize("box, scale, size, expect", [
    ((10, 10, 50, 50), float("nan"), 32, "finite numbers"),
    ((10, float("nan"), 50, 50), 1.4, 32, "finite numbers"),
    ((10, 10, 50, 50), 1.4, 0, "size_px must be at least 1"),
    ((10, 10, 50, 50), 1.4, -5, "size_px must be at least 1"),
])
def test_bad_crop_arguments_are_named(box, scale, size, expect):
    """These raised OpenCV's assertion text or 'cannot convert float NaN to integer'."""
    with pytest.raises(ValueError, match=expect):
        square_crop(np.zeros((100, 100, 3), np.uint8), box, scale, size)


def test_a_path_instead_of_an_image_says_to_read_it_first():
    with pytest.raises(FrameError, match="got the str 'photo.jpg': read the file first"):
        to_bgr("photo.jpg")


def test_covered_fraction_and_xywh_live_with_the_other_box_helpers():
    import numpy as np

    from core.geometry import covered_fraction, xyxy_to_xywh
    assert covered_fraction((0, 0, 10, 10), (5, 0, 20, 20)) == 0.5
    assert covered_fraction((3, 3, 3, 3), (0, 0, 10, 10)) == 0.0   # an empty box covers nothing
    assert xyxy_to_xywh(np.array([[1.0, 2.0, 4.0, 8.0]])).tolist() == [[1.0, 2.0, 3.0, 6.0]]
