#!/usr/bin/env python3
"""Usage: botocore_oracle.py CASE_COUNT

Generates CASE_COUNT DynamoDB-style requests with a fixed seed, signs each with botocore's
SigV4Auth at a fixed time, and prints the cases and botocore's results as JSON.

The C++ test signs the same cases with dynalock's signer and compares. Exit status 2
with a message on stderr when botocore cannot be imported.
"""
import datetime
import json
import random
import sys

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as e:
    sys.stderr.write(f"botocore is not importable by {sys.executable}: {e}\n")
    sys.exit(2)

SEED = 20150830

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
           "sa-east-1", "cn-north-1", "us-gov-west-1", "local"]
OPERATIONS = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
              "TransactWriteItems", "DescribeTable", "CreateTable", "UpdateTimeToLive"]
# Characters for JSON string values: ASCII, Latin-1, CJK, emoji (4-byte UTF-8),
# combining marks, JSON-escaped controls.
ALPHABET = ("abcXYZ019 _-./\\\"'{}[]:,\t\n" "éüßø" "中文字符" "日本語" "😀🔒🚀"
            "e\u0301" "\u2028\u00a0" "\x01\x1f")
BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class RecordingSigV4Auth(botocore.auth.SigV4Auth):
    """Keeps the canonical request botocore signed, to show where a mismatch starts."""

    def canonical_request(self, request):
        self.last_canonical_request = super().canonical_request(request)
        return self.last_canonical_request


def random_text(rng, max_len):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, max_len)))


def random_attribute(rng, depth):
    kind = rng.choice(["S", "N", "BOOL", "NULL", "M", "L"] if depth < 3 else ["S", "N"])
    if kind == "S":
        return {"S": random_text(rng, 40)}
    if kind == "N":
        return {"N": str(rng.randint(-10**12, 10**12))}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "M":
        return {"M": {random_text(rng, 8): random_attribute(rng, depth + 1)
                      for _ in range(rng.randint(0, 4))}}
    return {"L": [random_attribute(rng, depth + 1) for _ in range(rng.randint(0, 4))]}


def random_body(rng):
    if rng.random() < 0.05:
        return ""
    body = {"TableName": "locks-" + random_text(rng, 6),
            "Item": {random_text(rng, 10): random_attribute(rng, 0)
                     for _ in range(rng.randint(1, 6))}}
    return json.dumps(body, ensure_ascii=rng.random() < 0.2)


def odd_whitespace(rng, value):
    """Surrounds and splits `value` with runs of spaces and tabs."""
    def run():
        return "".join(rng.choice(" \t") for _ in range(rng.randint(0, 3)))
    words = value.split(" ")
    return run() + (run() or " ").join(words) + run()


def random_header_value(rng):
    words = ["".join(rng.choice("abcXYZ0189=;/+-_.,()\"") for _ in range(rng.randint(1, 8)))
             for _ in range(rng.randint(0, 4))]
    return odd_whitespace(rng, " ".join(words))


def random_endpoint(rng):
    choice = rng.randrange(6)
    if choice == 0:
        return f"dynamodb.{rng.choice(REGIONS)}.amazonaws.com", 443, True
    if choice == 1:
        return "DynamoDB.EU-West-1.AmazonAWS.com", 443, True
    if choice == 2:
        return "127.0.0.1", rng.choice([8000, 4567, 80, 443, 65535]), rng.random() < 0.5
    if choice == 3:
        return "localhost", rng.choice([80, 8000, 443]), False
    if choice == 4:
        return "::1", rng.choice([8000, 443]), rng.random() < 0.5
    return "dynamodb.local", rng.choice([80, 443, 8443]), True


def random_path(rng):
    if rng.random() < 0.85:
        return "/"
    return rng.choice(["/a/./b/../c//d", "//", "/x/..", "/%20space/", "/caf%C3%A9/",
                       "/with~tilde/", "/a+b=c"])


def random_credentials(rng):
    access_key = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                                  for _ in range(16))
    secret = "".join(rng.choice(BASE64) for _ in range(40))
    token = ""
    if rng.random() < 0.5:
        token = "".join(rng.choice(BASE64) for _ in range(rng.randint(100, 400))) + "=="
    return access_key, secret, token


def random_headers(rng, operation):
    headers = [["Content-Type", odd_whitespace(rng, "application/x-amz-json-1.0")],
               ["X-Amz-Target", "DynamoDB_20120810." + operation]]
    if rng.random() < 0.3:
        headers.append(["User-Agent", "dynalock/0.1 " + random_header_value(rng)])
    if rng.random() < 0.3:
        headers.append(["Connection", "keep-alive"])
    for i in range(rng.randint(0, 4)):
        name = "".join(c.upper() if rng.random() < 0.5 else c for c in f"x-custom-{i}")
        headers.append([name, random_header_value(rng)])
        if rng.random() < 0.3:  # the same name again, in another case
            headers.append([name.swapcase(), random_header_value(rng)])
    rng.shuffle(headers)
    return headers


def main():
    case_count = int(sys.argv[1])
    rng = random.Random(SEED)
    cases = []
    for index in range(case_count):
        host, port, tls = random_endpoint(rng)
        region = rng.choice(REGIONS)
        access_key, secret, token = random_credentials(rng)
        timestamp = rng.randint(946684800, 4102444799)  # 2000-01-01 .. 2099-12-31
        operation = rng.choice(OPERATIONS)
        headers = random_headers(rng, operation)
        body = random_body(rng)
        path = random_path(rng)

        url_host = f"[{host}]" if ":" in host else host
        url = f"{'https' if tls else 'http'}://{url_host}:{port}{path}"
        request = AWSRequest(method="POST", url=url, data=body.encode("utf-8"))
        for name, value in headers:
            request.headers[name] = value  # appends: repeated names are kept

        fixed_time = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
        botocore.auth.get_current_datetime = lambda *args, **kwargs: fixed_time.replace(
            tzinfo=None)
        signer = RecordingSigV4Auth(
            Credentials(access_key, secret, token or None), "dynamodb", region)
        signer.add_auth(request)

        cases.append({
            "name": f"case{index:03d}",
            "host": host, "port": port, "tls": tls, "path": path,
            "region": region, "timestamp": timestamp,
            "access_key": access_key, "secret": secret, "token": token,
            "headers": headers, "body": body,
            "expected": {
                "host": botocore.auth._host_from_url(url),
                "x_amz_date": request.headers["X-Amz-Date"],
                "x_amz_security_token": request.headers.get("X-Amz-Security-Token", ""),
                "authorization": request.headers["Authorization"],
                "canonical_request": signer.last_canonical_request,
            },
        })
    json.dump({"botocore_version": botocore.__version__, "cases": cases}, sys.stdout,
              ensure_ascii=False)


if __name__ == "__main__":
    main()
