"""`imagetagger aws publish-web --stack NAME` against moto: config.json from the stack's outputs, every file of the page
in the web bucket with a browser-usable content type, and the CloudFront cache invalidated."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from imagetagger.coco import CATEGORIES_FILE, categories_json
from imagetagger_cli.main import main
from imagetagger_cli.publish_web import WEB_ROOT, page_files, web_config

REGION = "us-east-1"
STACK = "imagetagger-test"


def _stack_template(distribution_id: str) -> str:
    # The outputs publish-web reads, with the names template.yaml gives them; the bucket is a real (moto) one.
    return json.dumps(
        {
            "Parameters": {"MaxUploadBytes": {"Type": "Number", "Default": 8388608}},
            "Resources": {"WebBucket": {"Type": "AWS::S3::Bucket"}},
            "Outputs": {
                "ApiUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com"},
                "WebBucketName": {"Value": {"Ref": "WebBucket"}},
                "WebDistributionId": {"Value": distribution_id},
                "WebUrl": {"Value": "https://d111111abcdef8.cloudfront.net"},
                "UserPoolDomain": {"Value": "imagetagger-test-123456789012.auth.us-east-1.amazoncognito.com"},
                "ClientId": {"Value": "4example5client6id7"},
            },
        }
    )


@pytest.fixture
def deployed(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        cloudfront = boto3.client("cloudfront", region_name=REGION)
        distribution = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "test",
                "Comment": "web",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "web-bucket",
                            "DomainName": "web.s3.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {"TargetOriginId": "web-bucket", "ViewerProtocolPolicy": "redirect-to-https"},
            }
        )["Distribution"]["Id"]
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName=STACK, TemplateBody=_stack_template(distribution)
        )
        yield distribution


def _bucket() -> str:
    stack = boto3.client("cloudformation", region_name=REGION).describe_stacks(StackName=STACK)["Stacks"][0]
    return next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "WebBucketName")


def test_publish_web_uploads_the_page_with_a_cognito_config_and_invalidates_the_cache(deployed, capsys):
    assert main(["aws", "--region", REGION, "publish-web", "--stack", STACK]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["url"] == "https://d111111abcdef8.cloudfront.net"

    s3 = boto3.client("s3", region_name=REGION)
    bucket = _bucket()
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    expected = {path.relative_to(WEB_ROOT).as_posix() for path in page_files(WEB_ROOT)}
    assert {"index.html", "sw.js", "js/app.js", "icons/icon-192.png"} <= expected
    assert keys == expected | {"config.json", CATEGORIES_FILE}
    assert "config.example.json" not in keys
    # the page fetches COCO's vocabulary: the very file the API checks corrections against
    vocabulary = s3.get_object(Bucket=bucket, Key=CATEGORIES_FILE)["Body"].read().decode()
    assert json.loads(vocabulary) == json.loads(categories_json())

    config = s3.get_object(Bucket=bucket, Key="config.json")
    assert config["CacheControl"] == "no-cache"
    assert json.loads(config["Body"].read()) == {
        "apiBaseUrl": "https://abc123.execute-api.us-east-1.amazonaws.com",
        "authMode": "cognito",
        "cognito": {
            "domain": "imagetagger-test-123456789012.auth.us-east-1.amazoncognito.com",
            "clientId": "4example5client6id7",
            "redirectUri": "https://d111111abcdef8.cloudfront.net/",
            "scopes": ["openid", "email"],
        },
        "maxUploadBytes": 8388608,
    }
    # ES modules load only with a JavaScript type; the page's files are the ones in the checkout.
    module = s3.get_object(Bucket=bucket, Key="js/app.js")
    assert module["ContentType"] == "text/javascript"
    assert module["Body"].read() == (WEB_ROOT / "js" / "app.js").read_bytes()
    assert s3.head_object(Bucket=bucket, Key="index.html")["ContentType"] == "text/html"

    invalidations = boto3.client("cloudfront", region_name=REGION).list_invalidations(DistributionId=deployed)
    assert invalidations["InvalidationList"]["Quantity"] == 1


def test_an_unknown_stack_is_a_clear_error(deployed, capsys):
    assert main(["aws", "--region", REGION, "publish-web", "--stack", "no-such-stack"]) == 1
    assert "could not publish to stack no-such-stack" in capsys.readouterr().err


def test_a_stack_without_the_web_outputs_is_named_in_the_error():
    with pytest.raises(KeyError, match="WebBucketName"):
        web_config({"ApiUrl": "https://x", "UserPoolDomain": "d", "ClientId": "c", "WebUrl": "https://w"})


def test_the_template_outputs_what_publish_web_reads():
    from imagetagger_cli.publish_web import REQUIRED_OUTPUTS
    from imagetagger_local.cfn import load_template

    assert set(REQUIRED_OUTPUTS) <= set(load_template()["Outputs"])
