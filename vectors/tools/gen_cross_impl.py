#!/usr/bin/env python3
"""Generate vectors/crypto/cross-impl.json: WXBizMsgCrypt cross-implementation vectors.

Two implementations are involved:

1. The reference implementation in this file, written from the protocol
   description in the wxopen issue / DESIGN.md only.  AES-256-CBC comes from
   pycryptodome; padding (PKCS#7 to a multiple of 32), framing, signatures,
   key decoding and the strict envelope scanner are implemented here.  Its
   decoder is strict and reports the official error codes (-40001..-40011).

2. wechatpy (PyPI package `wechatpy`, module `wechatpy.crypto`:
   WeChatCrypto / PrpCrypto, plus `wechatpy.enterprise.crypto` for URL
   verification and `wechatpy.utils.WeChatSigner` for signatures).  When the
   `cryptography` package is installed wechatpy uses it (OpenSSL) for AES, so
   the two implementations do not share an AES engine.  wechatpy is a lenient
   decoder without official error codes, so for negative vectors it can only
   confirm signature (-40001) and receiver-id (-40005) rejections; what it
   does with every other negative vector is written into that vector's notes.

If wechatpy cannot be imported the generator still runs, cross-checks with the
reference implementation only, and says so in every vector's
`source.crosschecked_with` and in the file description.

Everything is deterministic: one seeded RNG drives keys, tokens, nonces,
timestamps, random16 values and filler text, and vectors are produced in a
fixed order.  Running the script twice yields byte-identical output.

Usage (see vectors/tools/README.md):
    python3 vectors/tools/gen_cross_impl.py [--out PATH] [--require-wechatpy]
"""
import argparse
import base64
import binascii
import hashlib
import json
import random
import re
import struct
import sys
from pathlib import Path

from Crypto.Cipher import AES

try:
    import wechatpy
    from wechatpy.crypto import PrpCrypto as WxPrpCrypto
    from wechatpy.crypto import WeChatCrypto as WxCrypto
    from wechatpy.enterprise.crypto import WeChatCrypto as WxWorkCrypto
    from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
    from wechatpy.utils import WeChatSigner

    try:
        from wechatpy.crypto.base import WeChatCipher as _WxCipher

        _WX_BACKEND = _WxCipher.__module__.rsplit(".", 1)[-1]
    except Exception:  # pragma: no cover - informational only
        _WX_BACKEND = "unknown"
    WECHATPY = "wechatpy==%s (wechatpy.crypto, AES via %s)" % (
        getattr(wechatpy, "__version__", "?"),
        _WX_BACKEND,
    )
except ImportError:  # pragma: no cover - exercised only without wechatpy
    WECHATPY = None

REFERENCE = "gen_cross_impl.py reference (pycryptodome AES-256-CBC, strict decoder)"
GENERATOR = "vectors/tools/gen_cross_impl.py"
SEED = 20261123

# Official error codes.
E_SIG = -40001
E_XML = -40002
E_KEY = -40004
E_RECEIVER = -40005
E_DECRYPT = -40007
E_BUFFER = -40008
E_B64 = -40010

B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class Reject(Exception):
    """A strict-decoder failure carrying an official error code."""

    def __init__(self, code, why):
        super().__init__("%d: %s" % (code, why))
        self.code = code


# --------------------------------------------------------------------------
# Reference implementation
# --------------------------------------------------------------------------


def decode_key(encoding_aes_key):
    """43 chars of the standard alphabet; trailing bits of the last char ignored."""
    if not isinstance(encoding_aes_key, str) or len(encoding_aes_key) != 43:
        raise Reject(E_KEY, "EncodingAESKey must be exactly 43 characters")
    bits = 0
    nbits = 0
    out = bytearray()
    for ch in encoding_aes_key:
        idx = B64_ALPHABET.find(ch)
        if idx < 0:
            raise Reject(E_KEY, "EncodingAESKey has non-base64 character %r" % ch)
        bits = (bits << 6) | idx
        nbits += 6
        if nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)
            bits &= (1 << nbits) - 1
    assert len(out) == 32, len(out)
    return bytes(out)


def trailing_bits(encoding_aes_key):
    """Value of the 2 unused low bits of the 43rd character."""
    return B64_ALPHABET.index(encoding_aes_key[-1]) & 0x3


def sign(*parts):
    """Lower-case hex SHA-1 over the byte-wise sorted concatenation."""
    raw = sorted(p.encode("utf-8") for p in parts)
    return hashlib.sha1(b"".join(raw)).hexdigest()


def aes_encrypt_raw(key, data):
    assert len(data) % 16 == 0
    return AES.new(key, AES.MODE_CBC, key[:16]).encrypt(data)


def aes_decrypt_raw(key, data):
    return AES.new(key, AES.MODE_CBC, key[:16]).decrypt(data)


def pad32(data):
    n = 32 - len(data) % 32
    return data + bytes([n]) * n


def frame(random16, msg, receiver_id):
    assert len(random16) == 16
    return random16 + struct.pack(">I", len(msg)) + msg + receiver_id


def seal(key, random16, msg, receiver_id):
    """random16 | u32 BE len | msg | receiver id, PKCS#7(32), AES-CBC, base64."""
    body = pad32(frame(random16, msg, receiver_id))
    return base64.b64encode(aes_encrypt_raw(key, body)).decode("ascii")


def seal_unpadded(key, plain):
    """Encrypt an already block-aligned plaintext (used to forge bad frames)."""
    return base64.b64encode(aes_encrypt_raw(key, plain)).decode("ascii")


def b64decode_strict(text):
    if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) or len(text) % 4:
        raise Reject(E_B64, "not canonical padded standard base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Reject(E_B64, str(exc))
    if base64.b64encode(raw).decode("ascii") != text:
        raise Reject(E_B64, "non-canonical base64 (trailing bits)")
    return raw


def open_cipher(key, encrypt, receiver_id):
    """Strict decrypt of an Encrypt value; returns (random16, msg bytes)."""
    raw = b64decode_strict(encrypt)
    if not raw or len(raw) % 16:
        raise Reject(E_DECRYPT, "ciphertext length %d" % len(raw))
    plain = aes_decrypt_raw(key, raw)
    pad = plain[-1]
    if pad < 1 or pad > 32 or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
        raise Reject(E_DECRYPT, "bad PKCS#7(32) padding (last byte %d)" % pad)
    body = plain[:-pad]
    if len(body) < 20:
        raise Reject(E_BUFFER, "frame of %d bytes" % len(body))
    (n,) = struct.unpack(">I", body[16:20])
    if 20 + n > len(body):
        raise Reject(E_BUFFER, "length field %d past the end" % n)
    if body[20 + n:] != receiver_id.encode("utf-8"):
        raise Reject(E_RECEIVER, "receiver id %r" % body[20 + n:])
    return body[:16], body[20:20 + n]


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_DECL = re.compile(r"<\?xml(\s+[A-Za-z]+\s*=\s*(\"[^\"<>]*\"|'[^'<>]*'))*\s*\?>")


def parse_envelope(xml):
    """Strict flat-envelope scanner: returns the single <Encrypt> text.

    Rejects (E_XML): DOCTYPE / any <!...> declaration, entity or character
    references, processing instructions other than one leading <?xml ...?>,
    malformed or unbalanced markup, text outside the root, a missing or a
    second <Encrypt> child of the root.
    """
    i = 0
    n = len(xml)
    if xml.startswith("<?xml"):
        m = _DECL.match(xml)
        if not m:
            raise Reject(E_XML, "bad XML declaration")
        i = m.end()
    stack = []
    root_done = False
    encrypts = []
    text = []
    while i < n:
        if xml.startswith("<![CDATA[", i):
            j = xml.find("]]>", i + 9)
            if j < 0 or not stack:
                raise Reject(E_XML, "unterminated or misplaced CDATA")
            text.append(xml[i + 9:j])
            i = j + 3
        elif xml.startswith("<!--", i):
            j = xml.find("-->", i + 4)
            if j < 0:
                raise Reject(E_XML, "unterminated comment")
            i = j + 3
        elif xml.startswith("<!", i):
            raise Reject(E_XML, "DOCTYPE / markup declaration")
        elif xml.startswith("<?", i):
            raise Reject(E_XML, "processing instruction")
        elif xml.startswith("</", i):
            j = xml.find(">", i)
            if j < 0:
                raise Reject(E_XML, "unterminated end tag")
            name = xml[i + 2:j].rstrip()
            if not stack or stack[-1] != name:
                raise Reject(E_XML, "mismatched end tag %r" % name)
            stack.pop()
            if len(stack) == 1 and name == "Encrypt":
                encrypts.append("".join(text))
            text = []
            if not stack:
                root_done = True
            i = j + 1
        elif xml[i] == "<":
            m = _NAME.match(xml, i + 1)
            if not m or root_done:
                raise Reject(E_XML, "bad start tag or second root")
            j = xml.find(">", m.end())
            if j < 0 or xml[m.end():j].strip() not in ("", "/"):
                raise Reject(E_XML, "unterminated start tag / attributes")
            if len(stack) >= 2 and stack[1] == "Encrypt":
                raise Reject(E_XML, "element inside Encrypt")
            if xml[j - 1] != "/":
                stack.append(m.group(0))
            text = []
            i = j + 1
        elif xml[i] == "&":
            raise Reject(E_XML, "entity or character reference")
        else:
            j = n
            for stop in ("<", "&"):
                k = xml.find(stop, i)
                if 0 <= k < j:
                    j = k
            chunk = xml[i:j]
            if not stack and chunk.strip():
                raise Reject(E_XML, "text outside the root element")
            text.append(chunk)
            i = j
    if stack or not root_done:
        raise Reject(E_XML, "unclosed element")
    if len(encrypts) != 1:
        raise Reject(E_XML, "%d Encrypt elements" % len(encrypts))
    return encrypts[0]


def reference_decrypt(v):
    """Full strict inbound pipeline; returns (0, random16, msg) or (code, None, None)."""
    try:
        key = decode_key(v["encoding_aes_key"])
        enc = v["encrypt"]
        if v.get("envelope_xml") is not None:
            enc_env = parse_envelope(v["envelope_xml"])
            if enc is not None and enc != enc_env:
                raise AssertionError("envelope Encrypt differs from encrypt in %s" % v["id"])
            enc = enc_env
        if sign(v["token"], v["timestamp"], v["nonce"], enc) != v["msg_signature"]:
            raise Reject(E_SIG, "msg_signature mismatch")
        r16, msg = open_cipher(key, enc, v["receiver_id"])
        return 0, r16, msg
    except Reject as exc:
        return exc.code, None, None


def reply_envelope(encrypt, signature, timestamp, nonce):
    return (
        "<xml>\n<Encrypt><![CDATA[%s]]></Encrypt>\n<MsgSignature><![CDATA[%s]]></MsgSignature>\n"
        "<TimeStamp>%s</TimeStamp>\n<Nonce><![CDATA[%s]]></Nonce>\n</xml>" % (encrypt, signature, timestamp, nonce)
    )


# --------------------------------------------------------------------------
# wechatpy adapter
# --------------------------------------------------------------------------


def wx_fixed_prp(random16):
    class FixedPrp(WxPrpCrypto):
        def get_random_string(self):
            return random16

    return FixedPrp


def wx_outcome(v):
    """Run wechatpy's inbound path on a vector: ('ok', text) or ('err', exception name)."""
    try:
        if v["kind"] == "verify_url":
            c = WxWorkCrypto(v["token"], v["encoding_aes_key"], v["receiver_id"])
            return "ok", c.check_signature(v["msg_signature"], v["timestamp"], v["nonce"], v["encrypt"])
        c = WxCrypto(v["token"], v["encoding_aes_key"], v["receiver_id"])
        if v.get("envelope_xml") is not None:
            return "ok", c.decrypt_message(v["envelope_xml"], v["msg_signature"], v["timestamp"], v["nonce"])
        return "ok", c._check_signature(v["msg_signature"], v["timestamp"], v["nonce"], v["encrypt"], WxPrpCrypto)
    except Exception as exc:  # wechatpy raises many unrelated exception types
        name = type(exc).__name__
        mod = type(exc).__module__
        return "err", name if mod in ("builtins", "wechatpy.exceptions") else "%s.%s" % (mod, name)


# --------------------------------------------------------------------------
# Deterministic data
# --------------------------------------------------------------------------

rng = random.Random(SEED)


def r_str(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def r_hex(n):
    return r_str("0123456789abcdef", n)


def r_random16():
    return r_str(ALNUM, 16)


def r_token():
    return r_str(ALNUM, rng.randrange(3, 33))


def r_timestamp():
    return str(rng.randrange(1_600_000_000, 1_800_000_000))


def r_nonce():
    if rng.random() < 0.7:
        return str(rng.randrange(10_000_000, 2_147_483_647))
    return r_str(ALNUM, rng.randrange(6, 17))


def r_key(trailing=None):
    """Random 43-char alphanumeric EncodingAESKey; optionally force the trailing bits."""
    while True:
        k = r_str(ALNUM, 43)
        if trailing is None or (trailing == 0) == (trailing_bits(k) == 0):
            return k


def ascii_filler(n):
    """n bytes of printable ASCII (includes <, &, quotes and ] on purpose)."""
    return r_str("".join(chr(c) for c in range(0x20, 0x7F)), n)


def appid():
    return "wx" + r_hex(16)


def corpid():
    return "ww" + r_hex(16)


def ghid():
    return "gh_" + r_hex(12)


def code_token(prefix, n):
    return prefix + r_str(ALNUM + "-_", n)


# Keys: all-'A', then random ones; several with non-zero trailing bits, some with zero.
KEY_ALL_A = "A" * 43
KEYS_NONZERO = [r_key(trailing=1) for _ in range(8)]
KEYS_ZERO = [r_key(trailing=0) for _ in range(3)]
KEYS = [KEY_ALL_A] + KEYS_NONZERO + KEYS_ZERO

COMPONENT_APPID = appid()
RECEIVERS = {
    "appid": [appid() for _ in range(4)],
    "corpid_ww": [corpid() for _ in range(2)],
    "corpid_wx": ["wx" + r_hex(16)],
}


def key_note(k):
    if k == KEY_ALL_A:
        return "key: 43 x 'A' (AES key = 32 zero bytes, IV = 16 zero bytes)"
    t = trailing_bits(k)
    if t:
        return "key: random alphanumeric, NON-ZERO trailing bits (last char %r, unused low 2 bits = %d; a strict base64 decoder rejects it)" % (k[-1], t)
    return "key: random alphanumeric, zero trailing bits (last char %r)" % k[-1]


VECTORS = []
IDS = set()


def add(v):
    assert v["id"] not in IDS, v["id"]
    IDS.add(v["id"])
    VECTORS.append(v)


def base(id_, kind, token, key, receiver, timestamp, nonce):
    return {
        "id": id_,
        "source": {"generator": GENERATOR, "crosschecked_with": []},
        "kind": kind,
        "token": token,
        "encoding_aes_key": key,
        "receiver_id": receiver,
        "timestamp": timestamp,
        "nonce": nonce,
        "msg_signature": None,
        "encrypt": None,
        "envelope_xml": None,
        "plaintext": None,
        "random16": None,
        "expected_error": None,
        "notes": "",
    }


# ---------------------------------------------------------------- envelopes

ENVELOPE_STYLES = [
    "to_cdata",  # <xml><ToUserName><![CDATA[..]]></ToUserName><Encrypt><![CDATA[..]]></Encrypt></xml>
    "appid_cdata",  # component push: <AppId> instead of <ToUserName>
    "to_plain_encrypt",  # Encrypt as plain character data
    "encrypt_first",  # Encrypt before ToUserName
    "indented",  # newlines + 4-space indentation between elements
    "decl_appid",  # <?xml ...?> declaration, AppId envelope, newlines
    "decl_to_plain",  # declaration, plain ToUserName and Encrypt
    "crlf_appid_first",  # CRLF between elements, Encrypt first, AppId
    "agentid",  # WeCom: ToUserName, Encrypt, AgentID
    "tabs_decl_encrypt_first",  # declaration + tabs, Encrypt first, plain text
]

ENVELOPE_DESC = {
    "to_cdata": "ToUserName envelope, CDATA Encrypt, no whitespace",
    "appid_cdata": "component AppId envelope, CDATA Encrypt",
    "to_plain_encrypt": "ToUserName envelope, Encrypt as plain text (no CDATA)",
    "encrypt_first": "Encrypt element before ToUserName",
    "indented": "newlines and indentation between elements",
    "decl_appid": "<?xml version=\"1.0\" encoding=\"UTF-8\"?> declaration, AppId envelope, newlines",
    "decl_to_plain": "XML declaration, plain-text ToUserName and Encrypt",
    "crlf_appid_first": "CRLF line breaks, Encrypt before AppId",
    "agentid": "WeCom envelope with AgentID after Encrypt",
    "tabs_decl_encrypt_first": "XML declaration, tab indentation, Encrypt first as plain text",
}

DECL = '<?xml version="1.0" encoding="UTF-8"?>'


def envelope(style, to, enc):
    if style == "to_cdata":
        return "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (to, enc)
    if style == "appid_cdata":
        return "<xml><AppId><![CDATA[%s]]></AppId><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (to, enc)
    if style == "to_plain_encrypt":
        return "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt>%s</Encrypt></xml>" % (to, enc)
    if style == "encrypt_first":
        return "<xml><Encrypt><![CDATA[%s]]></Encrypt><ToUserName><![CDATA[%s]]></ToUserName></xml>" % (enc, to)
    if style == "indented":
        return "<xml>\n    <ToUserName><![CDATA[%s]]></ToUserName>\n    <Encrypt><![CDATA[%s]]></Encrypt>\n</xml>\n" % (to, enc)
    if style == "decl_appid":
        return DECL + "\n<xml>\n<AppId><![CDATA[%s]]></AppId>\n<Encrypt><![CDATA[%s]]></Encrypt>\n</xml>" % (to, enc)
    if style == "decl_to_plain":
        return DECL + "<xml><ToUserName>%s</ToUserName><Encrypt>%s</Encrypt></xml>" % (to, enc)
    if style == "crlf_appid_first":
        return "<xml>\r\n<Encrypt><![CDATA[%s]]></Encrypt>\r\n<AppId><![CDATA[%s]]></AppId>\r\n</xml>" % (enc, to)
    if style == "agentid":
        return "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt><AgentID><![CDATA[%d]]></AgentID></xml>" % (
            to,
            enc,
            1000000 + rng.randrange(1, 100),
        )
    if style == "tabs_decl_encrypt_first":
        return DECL + "\n<xml>\n\t<Encrypt>%s</Encrypt>\n\t<ToUserName><![CDATA[%s]]></ToUserName>\n</xml>" % (enc, to)
    raise ValueError(style)


# ---------------------------------------------------------------- messages


def msg_component_verify_ticket(comp):
    return (
        "<xml><AppId><![CDATA[%s]]></AppId>\n<CreateTime>%s</CreateTime>\n<InfoType><![CDATA[component_verify_ticket]]></InfoType>\n"
        "<ComponentVerifyTicket><![CDATA[%s]]></ComponentVerifyTicket>\n</xml>" % (comp, r_timestamp(), code_token("ticket@@@", 86))
    )


def msg_authorized(comp, info_type):
    return (
        "<xml><AppId><![CDATA[%s]]></AppId>\n<CreateTime>%s</CreateTime>\n<InfoType><![CDATA[%s]]></InfoType>\n"
        "<AuthorizerAppid><![CDATA[%s]]></AuthorizerAppid>\n<AuthorizationCode><![CDATA[%s]]></AuthorizationCode>\n"
        "<AuthorizationCodeExpiredTime>%s</AuthorizationCodeExpiredTime>\n<PreAuthCode><![CDATA[%s]]></PreAuthCode>\n</xml>"
        % (comp, r_timestamp(), info_type, appid(), code_token("queryauthcode@@@", 86), r_timestamp(), code_token("preauthcode@@@", 86))
    )


def msg_unauthorized(comp):
    return (
        "<xml><AppId><![CDATA[%s]]></AppId>\n<CreateTime>%s</CreateTime>\n<InfoType><![CDATA[unauthorized]]></InfoType>\n"
        "<AuthorizerAppid><![CDATA[%s]]></AuthorizerAppid>\n</xml>" % (comp, r_timestamp(), appid())
    )


def msg_text(to, content):
    return (
        "<xml><ToUserName><![CDATA[%s]]></ToUserName>\n<FromUserName><![CDATA[o%s]]></FromUserName>\n<CreateTime>%s</CreateTime>\n"
        "<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[%s]]></Content>\n<MsgId>%d</MsgId>\n</xml>"
        % (to, r_str(ALNUM + "-_", 27), r_timestamp(), content, rng.randrange(10**18, 10**19))
    )


def msg_fasteregister(comp):
    return (
        "<xml><AppId><![CDATA[%s]]></AppId>\n<CreateTime>%s</CreateTime>\n<InfoType><![CDATA[notify_third_fasteregister]]></InfoType>\n"
        "<appid><![CDATA[%s]]></appid>\n<status>0</status>\n<auth_code><![CDATA[%s]]></auth_code>\n<msg><![CDATA[OK]]></msg>\n"
        "<info>\n<name><![CDATA[深圳市某某科技有限公司]]></name>\n<code><![CDATA[91440300MA5EXAMPLE]]></code>\n<code_type>1</code_type>\n"
        "<legal_persona_wechat><![CDATA[wxid_%s]]></legal_persona_wechat>\n<legal_persona_name><![CDATA[张三]]></legal_persona_name>\n"
        "<component_phone><![CDATA[13800000000]]></component_phone>\n</info>\n</xml>"
        % (comp, r_timestamp(), appid(), code_token("", 32), r_str(ALNUM, 10))
    )


CHINESE = "第三方平台授权事件推送：公众号已授权，请及时调用接口换取令牌。"
EMOJI = "😀🎉🚀 4-byte UTF-8: 𠮷野家 🀄"
SPECIALS = "a < b && c > d; \"double\" 'single' ]]> <![CDATA[ nested ]]> &amp; &lt;/xml&gt; </Encrypt>"


# ---------------------------------------------------------------- positive vectors


def make_decrypt(id_, key, receiver, msg, style, to=None, note=""):
    token, ts, nonce, r16 = r_token(), r_timestamp(), r_nonce(), r_random16()
    v = base(id_, "decrypt_message", token, key, receiver, ts, nonce)
    enc = seal(decode_key(key), r16.encode(), msg.encode("utf-8"), receiver.encode("utf-8"))
    v["encrypt"] = enc
    v["msg_signature"] = sign(token, ts, nonce, enc)
    to = to or (receiver if style in ("appid_cdata", "decl_appid", "crlf_appid_first") else (ghid() if rng.random() < 0.5 else receiver))
    v["envelope_xml"] = envelope(style, to, enc)
    v["plaintext"] = msg
    v["random16"] = r16
    v["msg_len"] = len(msg.encode("utf-8"))
    fl = 20 + v["msg_len"] + len(receiver.encode("utf-8"))
    v["notes"] = "; ".join(
        x
        for x in (
            note,
            "envelope: " + ENVELOPE_DESC[style],
            "frame %d bytes, pad %d, ciphertext %d bytes" % (fl, 32 - fl % 32, fl + 32 - fl % 32),
            key_note(key),
        )
        if x
    )
    add(v)


def make_verify_url(id_, key, receiver, echo, note=""):
    token, ts, nonce, r16 = r_token(), r_timestamp(), r_nonce(), r_random16()
    v = base(id_, "verify_url", token, key, receiver, ts, nonce)
    enc = seal(decode_key(key), r16.encode(), echo.encode(), receiver.encode())
    v["encrypt"] = enc
    v["msg_signature"] = sign(token, ts, nonce, enc)
    v["plaintext"] = echo
    v["random16"] = r16
    v["msg_len"] = len(echo.encode())
    v["notes"] = "; ".join(x for x in (note, "echostr shown URL-decoded (it arrives percent-encoded in the GET query)", key_note(key)) if x)
    add(v)


def make_encrypt(id_, key, receiver, msg, note=""):
    token, ts, nonce, r16 = r_token(), r_timestamp(), r_nonce(), r_random16()
    v = base(id_, "encrypt_deterministic", token, key, receiver, ts, nonce)
    enc = seal(decode_key(key), r16.encode(), msg.encode("utf-8"), receiver.encode("utf-8"))
    v["encrypt"] = enc
    v["msg_signature"] = sign(token, ts, nonce, enc)
    v["envelope_xml"] = reply_envelope(enc, v["msg_signature"], ts, nonce)
    v["plaintext"] = msg
    v["random16"] = r16
    v["msg_len"] = len(msg.encode("utf-8"))
    fl = 20 + v["msg_len"] + len(receiver.encode("utf-8"))
    v["notes"] = "; ".join(
        x
        for x in (
            note,
            "envelope_xml is the exact reply envelope (Encrypt, MsgSignature, TimeStamp, Nonce)",
            "frame %d bytes, pad %d" % (fl, 32 - fl % 32),
            key_note(key),
        )
        if x
    )
    add(v)


def rk(i):
    return KEYS[i % len(KEYS)]


def rr(i):
    pool = RECEIVERS["appid"] + RECEIVERS["corpid_ww"] + RECEIVERS["corpid_wx"] + [COMPONENT_APPID]
    return pool[i % len(pool)]


LENGTHS = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 4096, 65536]


def gen_positive():
    # 1. plaintext lengths, ASCII filler (printable, includes XML specials)
    style_i = 0
    for n, length in enumerate(LENGTHS):
        for variant in range(2):
            key = rk(n + variant * 5)
            rec = rr(n * 2 + variant)
            style = ENVELOPE_STYLES[style_i % len(ENVELOPE_STYLES)]
            style_i += 1
            make_decrypt("xi-decrypt-len%d-%s" % (length, "ab"[variant]), key, rec, ascii_filler(length), style,
                         note="plaintext: %d bytes of printable ASCII filler" % length)
    # 2. frame on / around 32-byte boundaries for several receiver-id lengths
    long_ids = {
        33: "ww" + r_hex(16) + "-suite-" + r_str(ALNUM, 8),
        44: "wx" + r_hex(16) + "." + r_str(ALNUM, 25),
        64: "receiver-" + r_str(ALNUM, 55),
        100: "long-receiver-id/" + r_str(ALNUM, 83),
    }
    plan = [(RECEIVERS["appid"][0], (2, 3, 8)), (long_ids[33], (2, 3)), (long_ids[64], (3, 4)), (long_ids[100], (4, 5))]
    for rec, ks in plan:
        r = len(rec)
        for k in ks:
            l0 = 32 * k - 20 - r
            for delta in (-1, 0, 1):
                length = l0 + delta
                style = ENVELOPE_STYLES[style_i % len(ENVELOPE_STYLES)]
                style_i += 1
                which = {-1: "pad 1", 0: "pad 32 (frame exactly %d bytes)" % (32 * k), 1: "pad 31"}[delta]
                make_decrypt("xi-decrypt-frame%d-rid%d-len%d" % (32 * k + delta, r, length), rk(style_i), rec, ascii_filler(length), style,
                             note="frame boundary: receiver id %d bytes, message %d bytes -> %s" % (r, length, which))
    rec = long_ids[44]
    for length in (0, 1):
        style = ENVELOPE_STYLES[style_i % len(ENVELOPE_STYLES)]
        style_i += 1
        make_decrypt("xi-decrypt-frame%d-rid44-len%d" % (64 + length, length), rk(style_i), rec, ascii_filler(length), style,
                     note="frame boundary: 44-byte receiver id, %d-byte message -> %s" % (length, "pad 32, frame exactly 64 bytes" if length == 0 else "pad 31"))
    # 3. realistic component pushes (receiver id = component appid)
    comp = COMPONENT_APPID
    pushes = [
        ("ticket", msg_component_verify_ticket(comp)),
        ("ticket-b", msg_component_verify_ticket(comp)),
        ("authorized", msg_authorized(comp, "authorized")),
        ("updateauthorized", msg_authorized(comp, "updateauthorized")),
        ("unauthorized", msg_unauthorized(comp)),
        ("fasteregister", msg_fasteregister(comp)),
    ]
    for i, (name, msg) in enumerate(pushes):
        style = ("appid_cdata", "decl_appid", "crlf_appid_first")[i % 3]
        make_decrypt("xi-decrypt-component-%s" % name, rk(i + 3), comp, msg, style, to=comp,
                     note="component push to the authorization-event URL (AppId envelope; receiver id = component appid)")
    # 4. messages of authorized accounts: envelope names gh_ id, frame carries the component appid
    for i, content in enumerate(["hello", CHINESE, EMOJI, SPECIALS]):
        gh = ghid()
        make_decrypt("xi-decrypt-authorizer-msg-%d" % i, rk(i + 7), comp, msg_text(gh, content), ENVELOPE_STYLES[i * 2 % 10], to=gh,
                     note="message of an authorized account: ToUserName is the account's gh_ id, the receiver id inside the frame is the COMPONENT appid")
    # 5. text content variety
    contents = [
        ("chinese", CHINESE),
        ("chinese-long", CHINESE * 40),
        ("emoji", EMOJI),
        ("emoji-only", "😀" * 16),
        ("specials", SPECIALS),
        ("raw-cdata-end", "]]>"),
        ("quotes", "\"'\"'&<>"),
        ("json", json.dumps({"ToUserName": "gh_x", "Content": "你好 <b> & ]]>", "MsgType": "text"}, ensure_ascii=False)),
        ("newlines", "line1\nline2\r\nline3\n"),
        ("mixed", "Mixed 中文 and ASCII, emoji 👍 and specials <&>"),
        ("nul-free-control", "tab\there\x7fdel"),
    ]
    for i, (name, content) in enumerate(contents):
        rec = [RECEIVERS["corpid_ww"][0], RECEIVERS["appid"][1], RECEIVERS["corpid_wx"][0], long_ids[64]][i % 4]
        style = ENVELOPE_STYLES[(i + 3) % 10]
        if style == "agentid" and not rec.startswith("ww"):
            style = "indented"
        make_decrypt("xi-decrypt-content-%s" % name, rk(i + 1), rec, content, style,
                     note="plaintext content: %s (%d UTF-8 bytes)" % (name, len(content.encode())))

    # verify_url
    echo_recs = RECEIVERS["corpid_ww"] + RECEIVERS["corpid_wx"] + RECEIVERS["appid"][:2] + [COMPONENT_APPID]
    for i in range(14):
        rec = echo_recs[i % len(echo_recs)]
        echo = str(rng.randrange(10**18, 9 * 10**18)) if i < 10 else r_str(ALNUM, [1, 16, 43, 100][i - 10])
        make_verify_url("xi-verifyurl-%02d" % i, rk(i + 2), rec, echo,
                        note="URL verification (GET with echostr); answer with the decrypted echo string")

    # encrypt_deterministic
    for n, length in enumerate(LENGTHS):
        make_encrypt("xi-encrypt-len%d" % length, rk(n + 4), rr(n + 1), ascii_filler(length),
                     note="reply plaintext: %d bytes of printable ASCII filler" % length)
    rec = RECEIVERS["appid"][2]
    for k in (2, 3, 4):
        for delta in (-1, 0, 1):
            length = 32 * k - 20 - len(rec) + delta
            make_encrypt("xi-encrypt-frame%d-len%d" % (32 * k + delta, length), rk(k + delta + 3), rec, ascii_filler(length),
                         note="frame boundary: %s" % {-1: "pad 1", 0: "pad 32", 1: "pad 31"}[delta])
    replies = [
        ("text", "<xml><ToUserName><![CDATA[o%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[收到，谢谢！]]></Content></xml>"
         % (r_str(ALNUM, 27), ghid(), r_timestamp())),
        ("image", "<xml><ToUserName><![CDATA[o%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%s</CreateTime><MsgType><![CDATA[image]]></MsgType><Image><MediaId><![CDATA[%s]]></MediaId></Image></xml>"
         % (r_str(ALNUM, 27), ghid(), r_timestamp(), r_str(ALNUM + "-_", 64))),
        ("transfer-cs", "<xml><ToUserName><![CDATA[o%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%s</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>"
         % (r_str(ALNUM, 27), ghid(), r_timestamp())),
        ("success", "success"),
        ("chinese", CHINESE),
        ("emoji", EMOJI),
        ("specials", SPECIALS),
        ("json", '{"demo_resp":"good luck ✓"}'),
        ("news-long", "<xml><MsgType><![CDATA[news]]></MsgType><ArticleCount>8</ArticleCount><Articles>" + "".join(
            "<item><Title><![CDATA[标题 %d 😀]]></Title><Description><![CDATA[%s]]></Description><PicUrl><![CDATA[https://mmbiz.qpic.cn/%s]]></PicUrl><Url><![CDATA[https://mp.weixin.qq.com/s/%s]]></Url></item>"
            % (j, CHINESE, r_str(ALNUM, 40), r_str(ALNUM, 22)) for j in range(8)) + "</Articles></xml>"),
    ]
    for i, (name, msg) in enumerate(replies):
        rec = [COMPONENT_APPID, RECEIVERS["corpid_ww"][1], RECEIVERS["appid"][3], "ww" + r_hex(16) + "-" + r_str(ALNUM, 40)][i % 4]
        make_encrypt("xi-encrypt-reply-%s" % name, rk(i + 6), rec, msg, note="reply content: %s" % name)


# ---------------------------------------------------------------- sign_only


def gen_sign_only():
    cases = [
        ("xi-sign-4field-basic", r_token(), r_timestamp(), r_nonce(), "4ByGGj" + r_str(ALNUM + "+/", 58) + "==", "4-field msg_signature over token, timestamp, nonce, Encrypt"),
        ("xi-sign-3field-basic", r_token(), r_timestamp(), r_nonce(), None, "3-field `signature` query parameter (token, timestamp, nonce) - not the msg_signature"),
        ("xi-sign-case-order", "abcToken", "1700000000", "ABCnonce", "Zencrypt", "byte-wise sort: uppercase sorts before lowercase and digits before both (order: 1700000000, ABCnonce, Zencrypt, abcToken)"),
        ("xi-sign-prefix-order", "token", "tokenA", "tok", "token1", "sort where values are prefixes of each other (tok < token < token1 < tokenA)"),
        ("xi-sign-numeric-order", "9", "10", "100", "2", "numeric-looking values sort as strings, not numbers ('10' < '100' < '2' < '9')"),
        ("xi-sign-plus-slash", "tok", "1714112445", "415670741", "+/+/abc=", "Encrypt with '+', '/' and '=' sorts before digits"),
        ("xi-sign-same-values", "same", "same", "same", "same", "duplicate values"),
        ("xi-sign-empty-nonce", "emptynonce", "1714112445", "", "QUJD", "empty nonce still participates (sorts first)"),
        ("xi-sign-3field-long-token", r_str(ALNUM, 32), r_timestamp(), r_nonce(), None, "3-field signature, 32-char token"),
        ("xi-sign-3field-short-token", r_str(ALNUM, 3), r_timestamp(), r_nonce(), None, "3-field signature, 3-char token"),
        ("xi-sign-4field-long-encrypt", r_token(), r_timestamp(), r_nonce(), base64.b64encode(bytes(rng.randrange(256) for _ in range(4096))).decode(), "4-field signature over a 4 KiB-ciphertext-sized Encrypt"),
        ("xi-sign-utf8", "令牌token", "1714112445", "随机数", "QUJD", "non-ASCII token and nonce: signature is over UTF-8 bytes, sorted byte-wise"),
    ]
    for id_, token, ts, nonce, enc, note in cases:
        v = base(id_, "sign_only", token, None, None, ts, nonce)
        v["encrypt"] = enc
        parts = [token, ts, nonce] + ([enc] if enc is not None else [])
        v["msg_signature"] = sign(*parts)
        v["notes"] = note
        add(v)


# ---------------------------------------------------------------- reject


def make_reject(id_, code, note, key=None, receiver=None, token=None, ts=None, nonce=None, encrypt=None,
                envelope_xml=None, msg_signature="auto", sig_encrypt=None):
    key = key if key is not None else rk(len(VECTORS))
    receiver = receiver if receiver is not None else rr(len(VECTORS))
    token = token if token is not None else r_token()
    ts = ts if ts is not None else r_timestamp()
    nonce = nonce if nonce is not None else r_nonce()
    v = base(id_, "reject", token, key, receiver, ts, nonce)
    v["encrypt"] = encrypt
    v["envelope_xml"] = envelope_xml
    if msg_signature == "auto":
        over = sig_encrypt if sig_encrypt is not None else encrypt
        msg_signature = sign(token, ts, nonce, over)
    v["msg_signature"] = msg_signature
    v["expected_error"] = code
    v["notes"] = note
    add(v)
    return v


def good_cipher(key, receiver, msg=None):
    msg = msg if msg is not None else msg_text(ghid(), "reject vector body")
    return seal(decode_key(key), r_random16().encode(), msg.encode(), receiver.encode())


def forged(key, plain):
    assert len(plain) % 16 == 0
    return seal_unpadded(decode_key(key), plain)


def gen_reject():
    # -40001 signature variants (valid ciphertext, valid envelope)
    key, rec = KEYS[1], RECEIVERS["appid"][0]
    token, ts, nonce = r_token(), r_timestamp(), r_nonce()
    enc = good_cipher(key, rec)
    env = envelope("to_cdata", rec, enc)
    good = sign(token, ts, nonce, enc)
    flipped = good[:7] + ("0" if good[7] != "0" else "1") + good[8:]
    sig_cases = [
        ("wrong-token", dict(msg_signature=sign(token + "x", ts, nonce, enc)), "msg_signature computed with a different token"),
        ("changed-nonce", dict(msg_signature=sign(token, ts, str(int(nonce) + 1) if nonce.isdigit() else nonce + "1", enc)), "msg_signature computed for a different nonce"),
        ("changed-timestamp", dict(msg_signature=sign(token, str(int(ts) + 1), nonce, enc)), "msg_signature computed for timestamp+1"),
        ("flipped-hex", dict(msg_signature=flipped), "one hex digit of the correct signature changed"),
        ("uppercase-hex", dict(msg_signature=good.upper()), "correct digest in UPPERCASE hex: must be a mismatch (compare lowercase hex exactly)"),
        ("truncated", dict(msg_signature=good[:39]), "correct signature missing its last hex digit"),
        ("trailing-space", dict(msg_signature=good + " "), "correct signature followed by a space"),
        ("empty", dict(msg_signature=""), "empty msg_signature"),
        ("three-field", dict(msg_signature=sign(token, ts, nonce)), "the 3-field `signature` query value (token, timestamp, nonce) given as msg_signature"),
        ("unsorted", dict(msg_signature=hashlib.sha1((token + ts + nonce + enc).encode()).hexdigest()), "SHA-1 over the unsorted concatenation token|timestamp|nonce|Encrypt"),
        ("other-encrypt", dict(msg_signature=sign(token, ts, nonce, good_cipher(key, rec))), "signature over a different (valid) Encrypt value"),
    ]
    for name, kw, note in sig_cases:
        make_reject("xi-reject-sig-%s" % name, E_SIG, note + "; envelope present, ciphertext valid", key=key, receiver=rec, token=token, ts=ts,
                    nonce=nonce, encrypt=enc, envelope_xml=env, **kw)
    # verify_url style (no envelope) signature failure
    key2, rec2 = KEYS[9], RECEIVERS["corpid_ww"][0]
    echo_enc = seal(decode_key(key2), r_random16().encode(), b"6104153574738424393", rec2.encode())
    t2, ts2, n2 = r_token(), r_timestamp(), r_nonce()
    make_reject("xi-reject-sig-verifyurl-nonce", E_SIG, "URL verification (no envelope): signature computed for a different nonce", key=key2,
                receiver=rec2, token=t2, ts=ts2, nonce=n2, encrypt=echo_enc, msg_signature=sign(t2, ts2, n2 + "0", echo_enc))
    # signature is checked before decrypting: bad signature over an undecryptable Encrypt
    junk = base64.b64encode(b"\x00" * 40).decode()
    make_reject("xi-reject-sig-before-decrypt", E_SIG, "Encrypt is not decryptable (40 bytes) but the signature is wrong: signature is checked first, so -40001",
                encrypt=junk, msg_signature="0" * 40)

    # -40005 receiver id mismatch (correct signature)
    comp = COMPONENT_APPID
    authorizer = appid()
    rcases = [
        ("other-appid", comp, RECEIVERS["appid"][1], "frame carries one appid, decoder expects another"),
        ("authorizer-instead-of-component", comp, authorizer, "authorized-account message: frame carries the component appid; expecting the authorizer appid is the classic mistake"),
        ("prefix", comp, comp[:-1], "expected id is the real one minus its last character"),
        ("extension", comp, comp + "0", "expected id is the real one plus one character"),
        ("case", comp, comp.upper(), "expected id differs only in letter case"),
        ("corpid", RECEIVERS["corpid_ww"][1], RECEIVERS["corpid_ww"][0], "two WeCom corpids"),
    ]
    for name, real, expect, note in rcases:
        k = rk(len(VECTORS))
        make_reject("xi-reject-receiver-%s" % name, E_RECEIVER, note, key=k, receiver=expect, encrypt=good_cipher(k, real))
    # length field one byte too large but still inside the frame: message eats a receiver byte
    k = KEYS[4]
    rec = RECEIVERS["appid"][2]
    msg = b"length-field-off-by-one"
    body = r_random16().encode() + struct.pack(">I", len(msg) + 1) + msg + rec.encode()
    make_reject("xi-reject-receiver-length-plus-one", E_RECEIVER,
                "length field is msg_len+1: still within the frame, so the message swallows the receiver id's first byte and the tail no longer matches",
                key=k, receiver=rec, encrypt=forged(k, pad32(body)))

    # -40007 bad padding (ciphertext length a multiple of 32, frame otherwise valid)
    k = KEYS[5]
    rec = RECEIVERS["appid"][3]

    def frame_with_tail(tail, msg=b"padding test message"):
        fr = r_random16().encode() + struct.pack(">I", len(msg)) + msg + rec.encode()
        total = len(fr) + len(tail)
        filler = (32 - total % 32) % 32
        # keep the message length honest by growing the message instead of the frame
        msg2 = msg + b"." * filler
        fr = r_random16().encode() + struct.pack(">I", len(msg2)) + msg2 + rec.encode()
        return fr + tail

    pcases = [
        ("byte-0", bytes([0]), "last byte 0 (official decoders treat it as 0 padding and accept)"),
        ("byte-33", bytes([33]) * 33, "33 bytes of value 33: pad value above 32"),
        ("byte-ff", bytes([0xFF]), "last byte 0xFF"),
        ("byte-64", bytes([64]), "last byte 64"),
        ("inconsistent-4", bytes([4, 4, 3, 4]), "pad value 4 but one pad byte is 3"),
        ("inconsistent-32", bytes([31]) + bytes([32]) * 31, "pad value 32 but the first pad byte is 31"),
        ("inconsistent-2", bytes([0, 2]), "pad value 2 but the other pad byte is 0"),
        ("pkcs7-16-style-garbage", bytes([17]) + bytes([16]) * 15 + bytes([17]), "pad value 17 over bytes that are mostly 16"),
    ]
    for name, tail, note in pcases:
        make_reject("xi-reject-padding-%s" % name, E_DECRYPT, note, key=k, receiver=rec, encrypt=forged(k, frame_with_tail(tail)))
    # pad value larger than the whole plaintext (16-byte ciphertext, every byte 20)
    make_reject("xi-reject-padding-exceeds-plaintext", E_DECRYPT,
                "16-byte ciphertext whose plaintext is 16 bytes of 0x14: pad value 20 exceeds the plaintext length (must not panic)",
                key=k, receiver=rec, encrypt=forged(k, bytes([20]) * 16))

    # -40007 ciphertext length not a non-zero multiple of 16 (valid base64)
    for n_bytes in (40, 17, 1, 31, 0):
        raw = bytes(rng.randrange(256) for _ in range(n_bytes))
        note = "empty Encrypt text (0 bytes of ciphertext)" if n_bytes == 0 else "valid base64 of %d bytes: not a multiple of 16" % n_bytes
        make_reject("xi-reject-cipherlen-%d" % n_bytes, E_DECRYPT, note, encrypt=base64.b64encode(raw).decode())
    enc = good_cipher(KEYS[6], RECEIVERS["appid"][0])
    make_reject("xi-reject-cipherlen-truncated-4-chars", E_DECRYPT,
                "valid ciphertext minus its last 4 base64 chars (one quantum): still valid base64, but 1-3 bytes short of a multiple of 16 (-40007, not -40010)",
                key=KEYS[6], receiver=RECEIVERS["appid"][0], encrypt=enc[:-4])

    # -40010 base64 problems
    k, rec = KEYS[7], RECEIVERS["corpid_wx"][0]
    enc = good_cipher(k, rec)
    mid = len(enc) // 2
    bcases = [
        ("bang", enc[:mid] + "!" + enc[mid + 1:], "one character replaced by '!'"),
        ("urlsafe-dash", enc[:mid] + "-" + enc[mid + 1:], "one character replaced by '-' (URL-safe alphabet is not accepted)"),
        ("urlsafe-underscore", enc[:mid] + "_" + enc[mid + 1:], "one character replaced by '_' (URL-safe alphabet is not accepted)"),
        ("space", enc[:mid] + " " + enc[mid:], "a space inserted in the middle"),
        ("newline", enc[:mid] + "\n" + enc[mid:], "a newline inserted in the middle (MIME-style wrapping is not accepted)"),
        ("pad-in-middle", enc[:8] + "====" + enc[8:], "'====' inserted after the 8th character"),
        ("non-ascii", enc[:mid] + "é" + enc[mid + 1:], "one character replaced by U+00E9"),
        ("truncated-1", enc[:-1], "last character removed: length no longer a multiple of 4"),
        ("truncated-2", enc[:-2], "last two characters removed"),
        ("truncated-3", enc[:-3], "last three characters removed"),
        ("extra-pad", enc + "=", "an extra '=' appended"),
        ("percent-encoded", enc.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D") if ("+" in enc or "/" in enc) else enc + "%3D",
         "Encrypt still percent-encoded (caller forgot to URL-decode an echostr)"),
    ]
    for name, bad, note in bcases:
        make_reject("xi-reject-base64-%s" % name, E_B64, note, key=k, receiver=rec, encrypt=bad)

    # -40008 frame problems (valid padding)
    k, rec = KEYS[8], RECEIVERS["appid"][1]

    def padded(fr):
        return forged(k, pad32(fr))

    r16 = r_random16().encode()
    fcases = [
        ("length-past-end", padded(r16 + struct.pack(">I", 1000) + b"short" + rec.encode()), E_BUFFER, "length field 1000 but only a few bytes follow"),
        ("length-max-u32", padded(r16 + struct.pack(">I", 0xFFFFFFFF) + b"x" + rec.encode()), E_BUFFER, "length field 0xFFFFFFFF (20 + len overflows 32-bit arithmetic)"),
        ("length-0x80000000", padded(r16 + struct.pack(">I", 0x80000000) + b"x" + rec.encode()), E_BUFFER, "length field 0x80000000 (negative as i32)"),
        ("length-off-by-one", padded(r16 + struct.pack(">I", 6 + len(rec) + 1) + b"abcdef" + rec.encode()), E_BUFFER, "length field = bytes available after the header + 1"),
        ("frame-16-bytes", forged(k, r16 + bytes([16]) * 16), E_BUFFER, "32-byte ciphertext: 16-byte frame (random16 only) + pad 16: shorter than 20 bytes"),
        ("frame-19-bytes", forged(k, r16 + b"\x00\x00\x00" + bytes([13]) * 13), E_BUFFER, "19-byte frame (length field cut short) + pad 13"),
        ("frame-empty", forged(k, bytes([32]) * 32), E_BUFFER, "32-byte ciphertext that is all padding (pad 32): empty frame"),
    ]
    for name, encx, code, note in fcases:
        make_reject("xi-reject-frame-%s" % name, code, note, key=k, receiver=rec, encrypt=encx)

    # -40002 envelope problems (signature correct over the Encrypt value in question)
    k, rec = KEYS[10], RECEIVERS["appid"][2]
    enc = good_cipher(k, rec)
    enc2 = good_cipher(k, rec)
    gh = ghid()
    ecases = [
        ("missing-encrypt", "<xml><ToUserName><![CDATA[%s]]></ToUserName></xml>" % gh, enc, "no Encrypt element (msg_signature is over the Encrypt value that was removed)"),
        ("missing-encrypt-appid", "<xml><AppId><![CDATA[%s]]></AppId><Encrypts><![CDATA[%s]]></Encrypts></xml>" % (rec, enc), enc, "only an <Encrypts> element (name differs)"),
        ("duplicate-encrypt-same", "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (gh, enc, enc), enc, "two identical Encrypt elements"),
        ("duplicate-encrypt-different", "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (gh, enc, enc2), enc, "two different Encrypt elements (signature matches the first; a last-wins parser would see a signature mismatch instead)"),
        ("doctype-xxe", '<?xml version="1.0"?>\n<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<xml><ToUserName>&xxe;</ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>' % enc, enc, "DOCTYPE declaring an external entity used in ToUserName"),
        ("doctype-internal-entity", '<!DOCTYPE xml [<!ENTITY e "%s">]><xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt>&e;</Encrypt></xml>' % (enc, gh), enc, "DOCTYPE with an internal entity that expands to the (correctly signed) Encrypt value: entity expansion must not happen"),
        ("doctype-no-entity", '<!DOCTYPE xml><xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>' % (gh, enc), enc, "bare DOCTYPE without an internal subset"),
        ("entity-amp", "<xml><ToUserName>gh_a&amp;b</ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>" % enc, enc, "&amp; in ToUserName"),
        ("entity-undeclared", "<xml><ToUserName>&xxe;</ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>" % enc, enc, "undeclared entity reference &xxe;"),
        ("charref-in-encrypt", "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt>&#%d;%s</Encrypt></xml>" % (gh, ord(enc[0]), enc[1:]), enc, "first Encrypt character written as a character reference; decoding it would give the correctly signed value"),
        ("pi-after-decl", '<?xml version="1.0" encoding="UTF-8"?><?xml-stylesheet href="x.xsl"?><xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>' % (gh, enc), enc, "processing instruction after the declaration"),
        ("pi-inside", "<xml><?php echo 1; ?><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (gh, enc), enc, "processing instruction inside the root"),
        ("second-decl", '<xml><?xml version="1.0"?><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>' % (gh, enc), enc, "an <?xml ...?> declaration that is not at the start"),
        ("unclosed-root", "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt>" % (gh, enc), enc, "missing </xml>"),
        ("mismatched-tag", "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypted></xml>" % (gh, enc), enc, "<Encrypt> closed by </Encrypted>"),
        ("unterminated-cdata", "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s</Encrypt></xml>" % (gh, enc), enc, "CDATA section never terminated"),
        ("not-xml", "Encrypt=%s" % enc, enc, "body is not XML at all"),
        ("empty-body", "", enc, "empty body"),
        ("trailing-garbage", "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>junk" % (gh, enc), enc, "text after the root element"),
    ]
    for name, xml, sig_over, note in ecases:
        make_reject("xi-reject-xml-%s" % name, E_XML, note, key=k, receiver=rec, encrypt=None, envelope_xml=xml, sig_encrypt=sig_over)

    # -40004 key problems (everything else valid)
    base_key = KEYS[2]
    rec = RECEIVERS["appid"][3]
    enc = good_cipher(base_key, rec)
    kcases = [
        ("len42", base_key[:42], "42 characters"),
        ("len44", base_key + "A", "44 characters"),
        ("with-pad", base_key + "=", "the 43 characters plus '=' (44 chars)"),
        ("len0", "", "empty key"),
        ("len32", base_key[:32], "32 characters (looks like a raw AES key)"),
        ("len64", base_key + base_key[:21], "64 characters"),
        ("bang", base_key[:20] + "!" + base_key[21:], "43 characters, one is '!'"),
        ("dash", base_key[:10] + "-" + base_key[11:], "43 characters, one is '-' (URL-safe alphabet)"),
        ("underscore", base_key[:42] + "_", "43 characters, last is '_'"),
        ("space", base_key[:30] + " " + base_key[31:], "43 characters, one is a space"),
        ("equals-inside", base_key[:41] + "=" + base_key[42:], "43 characters, an '=' inside"),
        ("non-ascii", base_key[:5] + "é" + base_key[6:], "43 characters (44 UTF-8 bytes), one is U+00E9"),
    ]
    for name, bad_key, note in kcases:
        make_reject("xi-reject-key-%s" % name, E_KEY, note + "; ciphertext and signature are valid for the unmodified key", key=bad_key,
                    receiver=rec, encrypt=enc)


# ---------------------------------------------------------------- checks


def crosscheck():
    """Verify every vector with the reference implementation and, if available, wechatpy."""
    problems = []
    for v in VECTORS:
        used = [REFERENCE]
        wx_note = None
        kind = v["kind"]
        if kind in ("decrypt_message", "verify_url"):
            code, r16, msg = reference_decrypt(v)
            if code or msg.decode("utf-8") != v["plaintext"] or r16.decode() != v["random16"]:
                problems.append("%s: reference gave %s" % (v["id"], code))
            if WECHATPY:
                st, out = wx_outcome(v)
                if st == "ok" and out == v["plaintext"]:
                    used.append(WECHATPY)
                else:
                    problems.append("%s: wechatpy gave %s %r" % (v["id"], st, out if st == "err" else out[:40]))
        elif kind == "encrypt_deterministic":
            key = decode_key(v["encoding_aes_key"])
            enc = seal(key, v["random16"].encode(), v["plaintext"].encode("utf-8"), v["receiver_id"].encode("utf-8"))
            r16, msg = open_cipher(key, enc, v["receiver_id"])
            env = reply_envelope(enc, sign(v["token"], v["timestamp"], v["nonce"], enc), v["timestamp"], v["nonce"])
            if enc != v["encrypt"] or env != v["envelope_xml"] or msg.decode("utf-8") != v["plaintext"] or parse_envelope(env) != enc:
                problems.append("%s: reference mismatch" % v["id"])
            if WECHATPY:
                wc = WxCrypto(v["token"], v["encoding_aes_key"], v["receiver_id"])
                got_env = wc._encrypt_message(v["plaintext"], v["nonce"], v["timestamp"], wx_fixed_prp(v["random16"]))
                got_enc = wx_fixed_prp(v["random16"])(wc.key).encrypt(v["plaintext"], v["receiver_id"]).decode()
                back = WxPrpCrypto(wc.key).decrypt(v["encrypt"], v["receiver_id"])
                if got_env == v["envelope_xml"] and got_enc == v["encrypt"] and back == v["plaintext"]:
                    used.append(WECHATPY)
                else:
                    problems.append("%s: wechatpy encrypt mismatch" % v["id"])
        elif kind == "sign_only":
            parts = [v["token"], v["timestamp"], v["nonce"]] + ([v["encrypt"]] if v["encrypt"] is not None else [])
            if sign(*parts) != v["msg_signature"]:
                problems.append("%s: reference signature" % v["id"])
            if WECHATPY:
                s = WeChatSigner()
                s.add_data(*parts)
                if s.signature == v["msg_signature"]:
                    used.append(WECHATPY)
                else:
                    problems.append("%s: wechatpy signature differs" % v["id"])
        elif kind == "reject":
            code, _, _ = reference_decrypt(v)
            if code != v["expected_error"]:
                problems.append("%s: reference gave %s, expected %s" % (v["id"], code, v["expected_error"]))
            if WECHATPY:
                st, out = wx_outcome(v)
                expect_exc = {E_SIG: InvalidSignatureException.__name__, E_RECEIVER: InvalidAppIdException.__name__}.get(v["expected_error"])
                if st == "err" and out == expect_exc:
                    used.append(WECHATPY)
                elif st == "err":
                    wx_note = "%s also rejects it, with %s (it has no official error codes)" % (WECHATPY.split()[0], out)
                else:
                    wx_note = "%s ACCEPTS this input (lenient decoder)" % WECHATPY.split()[0]
        if not WECHATPY:
            wx_note = "wechatpy not available when generated: cross-checked with the reference implementation only"
        v["source"]["crosschecked_with"] = used
        if wx_note:
            v["notes"] = (v["notes"] + "; " if v["notes"] else "") + wx_note
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "crypto" / "cross-impl.json"))
    ap.add_argument("--require-wechatpy", action="store_true", help="fail instead of falling back when wechatpy is missing")
    args = ap.parse_args()
    if args.require_wechatpy and not WECHATPY:
        sys.exit("wechatpy is not importable (pip install wechatpy cryptography)")
    gen_positive()
    gen_sign_only()
    gen_reject()
    problems = crosscheck()
    if problems:
        for p in problems:
            print("PROBLEM", p, file=sys.stderr)
        sys.exit(1)
    desc = (
        "Cross-implementation WXBizMsgCrypt vectors generated by vectors/tools/gen_cross_impl.py (seed %d). "
        "Same schema as official-sdk.json. Every positive vector was produced by the generator's reference implementation "
        "(pycryptodome AES) and decrypted/re-encrypted back by it%s. random16 is 16 ASCII characters (the frame uses their bytes); "
        "plaintext is the UTF-8 message; msg_len is its byte length. encrypt_deterministic vectors carry the exact reply envelope. "
        "decrypt_message vectors carry a push envelope (ToUserName or AppId, CDATA or plain Encrypt, varied order, whitespace and declaration). "
        "sign_only vectors with encrypt=null are the 3-field `signature` query value. reject vectors have expected_error set; unless the "
        "vector is about the signature or the key, msg_signature is correct over the Encrypt value shown (or the one inside envelope_xml), "
        "so the failure is reached after the signature check. Error codes follow the wxopen contract: bad padding -> -40007, "
        "frame too short / length field past the end -> -40008. source.crosschecked_with lists the implementations that reproduced "
        "the vector's outcome; notes say what wechatpy does with negative vectors it cannot classify."
        % (SEED, (" and by " + WECHATPY) if WECHATPY else "; wechatpy was NOT available, so there is no second implementation")
    )
    doc = {"description": desc, "generator": GENERATOR, "vectors": VECTORS}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    counts = {}
    for v in VECTORS:
        counts[v["kind"]] = counts.get(v["kind"], 0) + 1
    print("wrote %s: %d vectors %s; second implementation: %s" % (out, len(VECTORS), counts, WECHATPY or "none"))


if __name__ == "__main__":
    main()
