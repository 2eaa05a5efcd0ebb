"""The S3 gateway answers CORS from the bucket's own rules, as S3 does."""

from imagetagger_local.s3_cors import cors_headers, matching_rule

RULES = [
    {
        "AllowedMethods": ["POST"],
        "AllowedOrigins": ["http://127.0.0.1:8000"],
        "AllowedHeaders": ["*"],
        "MaxAgeSeconds": 3000,
    }
]


def test_the_web_origin_may_post_with_any_header():
    rule = matching_rule(RULES, "http://127.0.0.1:8000", "POST", ["content-type", "x-requested-with"])
    headers = dict(cors_headers(rule, "http://127.0.0.1:8000", ["content-type"], preflight=True))
    assert headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert headers["Access-Control-Allow-Methods"] == "POST" and headers["Access-Control-Max-Age"] == "3000"


def test_other_origins_and_methods_get_no_rule():
    assert matching_rule(RULES, "https://evil.example", "POST") is None
    assert matching_rule(RULES, "http://127.0.0.1:8000", "DELETE") is None


def test_wildcards_in_origins_and_headers():
    rules = [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://*.example.com"], "AllowedHeaders": ["x-amz-*"]}]
    assert matching_rule(rules, "https://app.example.com", "GET", ["X-Amz-Date"]) is not None
    assert matching_rule(rules, "https://app.example.com", "GET", ["authorization"]) is None
