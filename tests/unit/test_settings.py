import pytest

from imagetagger.settings import ConfigurationError, Settings, parse_origins

REQUIRED = {
    "IMAGES_TABLE": "images",
    "TAGS_TABLE": "tags",
    "IDEMPOTENCY_TABLE": "idem",
    "UPLOAD_BUCKET": "bucket",
    "ENDPOINT_NAME": "endpoint",
}


def test_reads_template_globals():
    settings = Settings.from_env(
        {**REQUIRED, "MAX_UPLOAD_BYTES": "2048", "ALLOWED_ORIGINS": "https://a.example, https://b.example"}
    )
    assert settings.images_table == "images" and settings.upload_bucket == "bucket"
    assert settings.max_upload_bytes == 2048
    assert settings.allowed_origins == ("https://a.example", "https://b.example")


def test_missing_variables_are_named():
    with pytest.raises(ConfigurationError, match="TAGS_TABLE, UPLOAD_BUCKET"):
        Settings.from_env({k: v for k, v in REQUIRED.items() if k not in ("TAGS_TABLE", "UPLOAD_BUCKET")})


@pytest.mark.parametrize("value", ["ten", "0", "-5"])
def test_malformed_numbers_are_configuration_errors(value):
    with pytest.raises(ConfigurationError, match="MAX_UPLOAD_BYTES"):
        Settings.from_env({**REQUIRED, "MAX_UPLOAD_BYTES": value})


def test_origins_ignore_blanks():
    assert parse_origins(" , http://x ,") == ("http://x",)
    assert parse_origins("") == ()
