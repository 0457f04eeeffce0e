// The Node peer of the service bench: node:http + wechat-crypto 0.0.2.
// Per request, the same work as wxopen's message route: the query string, the timestamp
// window, Encrypt taken out of the envelope, msg_signature checked (getSignature), decrypt,
// appid compared, the plaintext's fields read, then `success`. The XML is read with indexOf
// (no XML parser: cheaper than any a Node service would load, so it flatters Node).
//   node node_server.js PORT TOKEN ENCODING_AES_KEY APPID
'use strict';
const http = require('http');
const WXBizMsgCrypt = require('wechat-crypto');

const [port, token, key, appid] = process.argv.slice(2);
const crypto = new WXBizMsgCrypt(token, key, appid);
const FIELDS = ['ToUserName', 'FromUserName', 'CreateTime', 'MsgType', 'Content', 'MsgId'];

function field(xml, name) {
  const open = `<${name}>`;
  const s = xml.indexOf(open);
  if (s < 0) return undefined;
  const e = xml.indexOf(`</${name}>`, s);
  if (e < 0) return undefined;
  let v = xml.slice(s + open.length, e);
  if (v.startsWith('<![CDATA[') && v.endsWith(']]>')) v = v.slice(9, -3);
  return v;
}

function handle(url, body) {
  const q = new URLSearchParams(url.slice(url.indexOf('?') + 1));
  const ts = q.get('timestamp');
  if (!ts || Math.abs(Date.now() / 1000 - Number(ts)) > 600) return false;
  const encrypt = field(body, 'Encrypt');
  if (!encrypt) return false;
  if (crypto.getSignature(ts, q.get('nonce'), encrypt) !== q.get('msg_signature')) return false;
  const out = crypto.decrypt(encrypt);
  if (out.id !== appid) return false;
  const msg = {};
  for (const f of FIELDS) msg[f] = field(out.message, f);
  return !!msg.ToUserName;
}

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let ok = false;
    try {
      ok = handle(req.url, Buffer.concat(chunks).toString());
    } catch (e) {
      ok = false;
    }
    const body = ok ? 'success' : 'bad';
    res.writeHead(ok ? 200 : 400, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': body.length,
    });
    res.end(body);
  });
}).listen(Number(port), '127.0.0.1');
