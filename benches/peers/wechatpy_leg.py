"""The wechatpy leg of the peer comparison: decrypt_message (XML parse, signature check,
AES, frame) on the shared fixtures; prints `wechatpy <size> <MB/s> <ns/op>` lines."""
import json
import sys
import time

from wechatpy.crypto import WeChatCrypto


def main():
    fixtures, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    for size in (1024, 65536):
        with open(f"{fixtures}/msg-{size}.json") as f:
            fx = json.load(f)
        crypto = WeChatCrypto(fx["token"], fx["encoding_aes_key"], fx["appid"])
        args = (fx["body"], fx["msg_signature"], fx["timestamp"], fx["nonce"])
        out = crypto.decrypt_message(*args)
        assert len(out.encode() if isinstance(out, str) else out) == fx["message_len"]
        best = float("inf")
        round_s = seconds / 40
        for _ in range(40):
            n = 0
            start = time.perf_counter()
            while time.perf_counter() - start < round_s:
                for _ in range(2):
                    crypto.decrypt_message(*args)
                n += 2
            best = min(best, (time.perf_counter() - start) / n)
        print(f"wechatpy {size} {fx['message_len'] / best / 1e6:.1f} {best * 1e9:.0f}")


main()
