//! Messages and events of authorized accounts (the "message and event receive URL",
//! `…/$APPID$/…`): verified and decrypted with the component's key (current, then previous),
//! and passive replies encrypted with the key that decrypted the message.

use serde::Deserialize;

use super::client::ComponentClient;
use crate::api::ApiCall;
use crate::error::Result;
use crate::message::{parse_authorizer_message, AuthorizerMessage};
use crate::push::PushQuery;
use crate::secret::AuthorizationCode;
use wxopen_core::{MsgCrypt, Reply};

/// A decrypted message of an authorized account, with the key that decrypted it (so the
/// reply can use the same one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyUsed {
    /// The current EncodingAESKey.
    Current,
    /// The previous one (`ComponentConfig::previous_encoding_aes_key`).
    Previous,
}

impl ComponentClient {
    /// Verifies, decrypts and parses a message or event pushed for an authorized account (to
    /// the "message and event receive URL"). The trailing id inside the ciphertext is the
    /// component appid; the key is the current EncodingAESKey, then the previous one.
    pub fn decrypt_authorizer_message(
        &self,
        query: &PushQuery,
        body: &[u8],
    ) -> Result<AuthorizerMessage> {
        Ok(self.decrypt_authorizer_message_with_key(query, body)?.0)
    }

    /// Like [`decrypt_authorizer_message`](Self::decrypt_authorizer_message), also telling
    /// which key decrypted it; answer with
    /// [`encrypt_authorizer_reply_as`](Self::encrypt_authorizer_reply_as) and that key.
    pub fn decrypt_authorizer_message_with_key(
        &self,
        query: &PushQuery,
        body: &[u8],
    ) -> Result<(AuthorizerMessage, KeyUsed)> {
        let (plain, used) = self.decrypt_authorizer_message_raw(query, body)?;
        Ok((parse_authorizer_message(&plain)?, used))
    }

    /// The decrypted plaintext XML of an authorized account's message, unparsed, with the
    /// key that decrypted it.
    pub fn decrypt_authorizer_message_raw(
        &self,
        query: &PushQuery,
        body: &[u8],
    ) -> Result<(Vec<u8>, KeyUsed)> {
        self.check_timestamp(query)?;
        let (plain, crypt) = self.decrypt_with_rotation(query, body)?;
        let used = if std::ptr::eq(crypt, &self.inner.crypt) {
            KeyUsed::Current
        } else {
            KeyUsed::Previous
        };
        Ok((plain, used))
    }

    fn crypt_for(&self, key: KeyUsed) -> &MsgCrypt {
        match (key, &self.inner.previous_crypt) {
            (KeyUsed::Previous, Some(p)) => p,
            _ => &self.inner.crypt,
        }
    }

    /// Encrypts a passive reply for an authorized account with the current key, the timestamp
    /// from the clock and a random nonce and IV prefix. Send [`Reply::to_xml`] as the body.
    pub fn encrypt_authorizer_reply(&self, message: &[u8]) -> Result<Reply> {
        self.encrypt_authorizer_reply_as(KeyUsed::Current, message)
    }

    /// Encrypts a passive reply with the key that decrypted the message it answers.
    pub fn encrypt_authorizer_reply_as(&self, key: KeyUsed, message: &[u8]) -> Result<Reply> {
        let timestamp = self.now().to_string();
        let nonce = rand::random_range(1_000_000_000u64..10_000_000_000).to_string();
        let random16: [u8; 16] = rand::random();
        Ok(self
            .crypt_for(key)
            .encrypt_reply(message, &timestamp, &nonce, &random16)?)
    }

    /// Encrypts a passive reply with caller-chosen timestamp, nonce and 16 random bytes
    /// (deterministic; for tests and reproducible vectors).
    pub fn encrypt_authorizer_reply_with(
        &self,
        message: &[u8],
        timestamp: &str,
        nonce: &str,
        random16: &[u8; 16],
    ) -> Result<Reply> {
        Ok(self
            .inner
            .crypt
            .encrypt_reply(message, timestamp, nonce, random16)?)
    }

    /// The follow-up of the release check's `QUERY_AUTH_CODE:` message
    /// ([`ReleaseCheckAction::QueryAuthAndSend`](crate::release_check::ReleaseCheckAction::QueryAuthAndSend)):
    /// exchanges `auth_code` ([`query_auth`](Self::query_auth), which stores the test
    /// account's tokens), then sends `content` to `touser` with
    /// `POST /cgi-bin/message/custom/send` and the access token it returned. Answers the
    /// authorizer appid the code belonged to. Call it after the empty answer has gone out,
    /// once per message.
    pub async fn complete_release_check(
        &self,
        auth_code: &AuthorizationCode,
        touser: &str,
        content: &str,
    ) -> Result<String> {
        let info = self.query_auth(auth_code).await?;
        let call = ApiCall::post("/cgi-bin/message/custom/send")?;
        let body = serde_json::json!({
            "touser": touser,
            "msgtype": "text",
            "text": { "content": content },
        });
        let _: Ignored = self
            .call_authorizer_api(&info.authorizer_appid, &call, Some(&body))
            .await?;
        Ok(info.authorizer_appid)
    }
}

/// A response whose fields are not needed (errcode is checked by the caller).
#[derive(Deserialize)]
struct Ignored {}
