import podium


def test_every_exported_name_resolves():
    for name in podium.__all__:
        assert getattr(podium, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        podium.nope  # noqa: B018
