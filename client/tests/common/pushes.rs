//! Pushes as WeChat sends them: the XML of each event, encrypted for the component and signed,
//! with its query string.

use wxopen_client::{PushQuery, Reply};
use wxopen_core::MsgCrypt;

use super::{AES_KEY, APPID, TOKEN};

/// Encrypts `xml` for the component and wraps it the way WeChat POSTs it.
pub fn push(xml: &str, timestamp: &str, nonce: &str) -> (PushQuery, Vec<u8>) {
    push_for(APPID, xml, timestamp, nonce)
}

/// Like [`push`], for another component appid.
pub fn push_for(appid: &str, xml: &str, timestamp: &str, nonce: &str) -> (PushQuery, Vec<u8>) {
    let crypt = MsgCrypt::new(TOKEN, AES_KEY, appid).unwrap();
    let reply = crypt
        .encrypt_reply(xml.as_bytes(), timestamp, nonce, b"0123456789abcdef")
        .unwrap();
    let body = format!(
        "<xml><AppId><![CDATA[{appid}]]></AppId><Encrypt><![CDATA[{}]]></Encrypt></xml>",
        reply.encrypt
    );
    // The real plain `signature` (SHA-1 over the sorted token, timestamp and nonce), as WeChat
    // sends it next to msg_signature.
    let signature = wxopen_core::signature::sign_plain(TOKEN, timestamp, nonce);
    let query = PushQuery::parse(&format!(
        "signature={}&timestamp={timestamp}&nonce={nonce}&encrypt_type=aes&msg_signature={}",
        signature.as_str(),
        reply.msg_signature
    ))
    .unwrap();
    (query, body.into_bytes())
}

/// Decrypts a passive `reply` with `crypt`, checking its signature, as the platform does.
pub fn open_reply(crypt: &MsgCrypt, reply: &Reply) -> Vec<u8> {
    let xml = reply.to_xml();
    let (signature, timestamp, nonce) = (&reply.msg_signature, &reply.timestamp, &reply.nonce);
    crypt
        .decrypt_message(xml.as_bytes(), signature, timestamp, nonce)
        .unwrap()
}

/// A `component_verify_ticket` push.
pub fn ticket_xml(ticket: &str, create_time: u64) -> String {
    format!(
        "<xml><AppId>{APPID}</AppId><CreateTime>{create_time}</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>{ticket}</ComponentVerifyTicket></xml>"
    )
}

/// An `authorized` push carrying the authorization `code`.
pub fn authorized_xml(authorizer: &str, code: &str, create_time: u64) -> String {
    format!(
        "<xml><AppId><![CDATA[{APPID}]]></AppId><CreateTime>{create_time}</CreateTime><InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[{authorizer}]]></AuthorizerAppid><AuthorizationCode><![CDATA[{code}]]></AuthorizationCode><AuthorizationCodeExpiredTime>{}</AuthorizationCodeExpiredTime><PreAuthCode><![CDATA[preauthcode@@@p]]></PreAuthCode></xml>",
        create_time + 3600
    )
}

/// An `unauthorized` push.
pub fn unauthorized_xml(authorizer: &str, create_time: u64) -> String {
    format!(
        "<xml><AppId>{APPID}</AppId><CreateTime>{create_time}</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>{authorizer}</AuthorizerAppid></xml>"
    )
}
