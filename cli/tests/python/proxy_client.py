#!/usr/bin/env python3
"""A service written in another language using wxopen serve as its token service.

Standard library only. It reads an account's access token from the internal API, then calls
WeChat through the token-injecting proxy without ever holding a token: an image
(wxa/get_qrcode), a multipart upload (cgi-bin/media/upload) and a customer-service message
(cgi-bin/message/custom/send). It prints one JSON object per step for the test to check.

Usage: proxy_client.py <internal base URL> <component appid> <account appid> (the bearer key
is read from the WXOPEN_KEY environment variable).
"""

import json
import os
import sys
import urllib.error
import urllib.request


def call(method, url, key, body=None, content_type=None):
    """Sends one request; returns (status, content type, body bytes), errors included."""
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Authorization", "Bearer " + key)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def report(step, **fields):
    print(json.dumps(dict(step=step, **fields)), flush=True)


def main():
    base, component, account = sys.argv[1:4]
    key = os.environ["WXOPEN_KEY"]
    v1 = f"{base}/v1/{component}"

    status, _, body = call("GET", f"{v1}/authorizers/{account}/token", key)
    token = json.loads(body)
    report("token", status=status, expires_in=token.get("expires_in"),
           has_token=bool(token.get("authorizer_access_token")))

    proxy = f"{v1}/authorizers/{account}/proxy"
    status, content_type, body = call("GET", f"{proxy}/wxa/get_qrcode?path=pages%2Findex", key)
    report("qrcode", status=status, content_type=content_type, length=len(body),
           head=body[:8].hex(), tail=body[8:].decode("utf-8", "replace"))

    boundary = "python-boundary-7d1f"
    image = bytes(range(256)) * 4
    form = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="media"; filename="logo.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + image + f"\r\n--{boundary}--\r\n".encode()
    status, _, body = call("POST", f"{proxy}/cgi-bin/media/upload?type=image", key, form,
                           f"multipart/form-data; boundary={boundary}")
    report("upload", status=status, answer=json.loads(body), length=len(image))

    message = json.dumps({"touser": "o-stranger", "msgtype": "text",
                          "text": {"content": "hello"}}).encode()
    status, _, body = call("POST", f"{proxy}/cgi-bin/message/custom/send", key, message,
                           "application/json")
    report("send", status=status, answer=json.loads(body))

    status, _, body = call("GET", f"{proxy}/cgi-bin/component/api_query_auth", key)
    report("denied", status=status, answer=json.loads(body))


if __name__ == "__main__":
    main()
