"""The Python peer of the service bench: wechatpy 1.8.18 behind a WSGI or ASGI server.

Per request, the same work as wxopen's message route: the query string, the timestamp window,
WeChatCrypto.decrypt_message (XML envelope, msg_signature, AES, frame, appid), parse_message
(the plaintext XML into a message object), then `success`. `app` is the WSGI callable, `asgi`
the ASGI one; `python wechatpy_app.py socketify|bjoern` runs it under socketify.py or bjoern.
Settings come from the environment: WX_TOKEN, WX_AES_KEY, WX_APPID (and PORT for the two
servers this file starts itself).
"""
import os
import time
from urllib.parse import parse_qs

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

CRYPTO = WeChatCrypto(os.environ["WX_TOKEN"], os.environ["WX_AES_KEY"], os.environ["WX_APPID"])
WINDOW = 600
OK = (200, b"success")
BAD = (400, b"bad")


def handle(query, body):
    try:
        q = parse_qs(query)
        ts = q["timestamp"][0]
        if abs(time.time() - int(ts)) > WINDOW:
            return BAD
        xml = CRYPTO.decrypt_message(body, q["msg_signature"][0], ts, q["nonce"][0])
        msg = parse_message(xml)
        if not msg.source:
            return BAD
        return OK
    except Exception:  # any refusal is a 400, as in wxopen
        return BAD


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    status, out = handle(environ.get("QUERY_STRING", ""), body)
    start_response(
        "200 OK" if status == 200 else "400 Bad Request",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(out)))],
    )
    return [out]


async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    chunks = []
    more = True
    while more:
        m = await receive()
        chunks.append(m.get("body", b""))
        more = m.get("more_body", False)
    status, out = handle(scope.get("query_string", b"").decode(), b"".join(chunks))
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(out)).encode())],
    })
    await send({"type": "http.response.body", "body": out})


def socketify_main():
    from socketify import App

    server = App()

    def on_post(res, req):
        query = req.get_full_url().partition("?")[2]

        def done(body):
            status, out = handle(query, body)
            res.write_status(status).write_header("Content-Type", "text/plain; charset=utf-8").end(out)

        res.get_data().add_done_callback(lambda f: done(f.result().getvalue()))

    server.post("/*", on_post)
    server.listen(int(os.environ["PORT"]), lambda cfg: None)
    server.run()


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["bjoern"]:
        import bjoern

        bjoern.run(app, "127.0.0.1", int(os.environ["PORT"]))
    else:
        socketify_main()
