// The wechat-crypto (npm) leg of the peer comparison: take Encrypt out of the body, check
// msg_signature with getSignature, decrypt; prints `wechat-crypto <size> <MB/s> <ns/op>` lines.
'use strict';
const fs = require('fs');
const WXBizMsgCrypt = require('wechat-crypto');

const [fixtures, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 2);

function decrypt(crypto, fx) {
  // The cheapest extraction a caller could do (no XML parser): indexOf around the CDATA.
  const open = '<Encrypt><![CDATA[';
  const start = fx.body.indexOf(open) + open.length;
  const encrypt = fx.body.slice(start, fx.body.indexOf(']]>', start));
  if (crypto.getSignature(fx.timestamp, fx.nonce, encrypt) !== fx.msg_signature) {
    throw new Error('signature mismatch');
  }
  const out = crypto.decrypt(encrypt);
  if (out.id !== fx.appid) throw new Error('appid mismatch');
  return out.message;
}

for (const size of [1024, 65536]) {
  const fx = JSON.parse(fs.readFileSync(`${fixtures}/msg-${size}.json`, 'utf8'));
  const crypto = new WXBizMsgCrypt(fx.token, fx.encoding_aes_key, fx.appid);
  const msg = decrypt(crypto, fx);
  if (Buffer.byteLength(msg) !== fx.message_len) throw new Error('wrong length');
  let best = Infinity;
  const roundNs = (seconds / 40) * 1e9;
  for (let r = 0; r < 40; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let el = 0;
    while (el < roundNs) {
      for (let i = 0; i < 4; i++) decrypt(crypto, fx);
      n += 4;
      el = Number(process.hrtime.bigint() - start);
    }
    best = Math.min(best, el / n);
  }
  console.log(`wechat-crypto ${size} ${(fx.message_len / best * 1e3).toFixed(1)} ${best.toFixed(0)}`);
}
