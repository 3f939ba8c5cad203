import pytest


@pytest.fixture
def notifications():
    """Every napari notification shown during the test."""
    from napari.utils.notifications import notification_manager

    seen = []
    notification_manager.notification_ready.connect(seen.append)
    yield seen
    notification_manager.notification_ready.disconnect(seen.append)


@pytest.fixture
def viewer_with_images(make_napari_viewer, photo, texture):
    viewer = make_napari_viewer()
    viewer.add_image(photo, name="astronaut")
    viewer.add_image(texture, name="coffee")
    return viewer
