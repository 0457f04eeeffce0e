//! Writes the committed seed corpora (`fuzz/corpus/<target>/seed-*`) from the crypto vectors.
//!
//! Run from anywhere:
//! `cargo run --manifest-path fuzz/Cargo.toml --no-default-features --features tools --bin gen-seeds`.
//! Output is deterministic; old `seed-*` files are removed first, other corpus files are left.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use wxopen_core::{frame, pkcs7, AesKey, MsgCrypt};
use wxopen_fuzz::{
    raw_decrypt, DecryptInput, RoundtripInput, FIXED_ENCODING_AES_KEY, FIXED_RECEIVER_ID,
    FIXED_TOKEN, SIGN_CORRECTLY, USE_TEXT_KEY,
};

/// Seeds per target stay small: at most this many bytes each.
const MAX_SEED: usize = 900;

struct Vector {
    id: String,
    kind: String,
    token: String,
    key_text: String,
    key: [u8; 32],
    receiver_id: String,
    timestamp: String,
    nonce: String,
    msg_signature: String,
    encrypt: String,
    envelope: Option<String>,
    plaintext: Option<String>,
    random16: Option<String>,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn load(root: &Path) -> Vec<Vector> {
    let mut out = Vec::new();
    for file in ["official-sdk.json", "cross-impl.json"] {
        let path = root.join("vectors/crypto").join(file);
        let Ok(text) = fs::read_to_string(&path) else {
            eprintln!("skipping missing {}", path.display());
            continue;
        };
        let doc: Value = serde_json::from_str(&text).expect("vector JSON");
        for v in doc["vectors"].as_array().expect("vectors array") {
            let Some(key_text) = s(v, "encoding_aes_key") else {
                continue;
            };
            let Ok(key) = AesKey::from_encoding_aes_key(&key_text) else {
                continue;
            };
            let Some(encrypt) = s(v, "encrypt") else {
                continue;
            };
            out.push(Vector {
                id: s(v, "id").unwrap_or_default(),
                kind: s(v, "kind").unwrap_or_default(),
                token: s(v, "token").unwrap_or_default(),
                key: *key.as_bytes(),
                key_text,
                receiver_id: s(v, "receiver_id").unwrap_or_default(),
                timestamp: s(v, "timestamp").unwrap_or_default(),
                nonce: s(v, "nonce").unwrap_or_default(),
                msg_signature: s(v, "msg_signature").unwrap_or_default(),
                encrypt,
                envelope: s(v, "envelope_xml"),
                plaintext: s(v, "plaintext"),
                random16: s(v, "random16"),
            });
        }
    }
    out
}

/// The raw padded plaintext of a vector (decrypted with its own key, nothing checked).
fn padded_plain(v: &Vector) -> Option<Vec<u8>> {
    let mut ct = STANDARD.decode(&v.encrypt).ok()?;
    if ct.is_empty() || ct.len() % 16 != 0 {
        return None;
    }
    raw_decrypt(&v.key, &mut ct);
    Some(ct)
}

struct Corpus {
    dir: PathBuf,
    seeds: BTreeMap<String, Vec<u8>>,
    limit: usize,
}

impl Corpus {
    fn new(root: &Path, target: &str, limit: usize) -> Self {
        Corpus {
            dir: root.join("fuzz/corpus").join(target),
            seeds: BTreeMap::new(),
            limit,
        }
    }

    /// Keep a seed unless it is too big, a duplicate, or the corpus is full.
    fn add(&mut self, name: &str, bytes: Vec<u8>) {
        if bytes.len() > MAX_SEED
            || self.seeds.len() >= self.limit
            || self.seeds.values().any(|b| *b == bytes)
        {
            return;
        }
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.seeds.insert(format!("seed-{name}"), bytes);
    }

    fn write(self) {
        fs::create_dir_all(&self.dir).expect("corpus dir");
        for entry in fs::read_dir(&self.dir).expect("corpus dir") {
            let path = entry.expect("entry").path();
            let is_seed = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"));
            if is_seed {
                fs::remove_file(&path).expect("remove old seed");
            }
        }
        let total: usize = self.seeds.values().map(Vec::len).sum();
        for (name, bytes) in &self.seeds {
            fs::write(self.dir.join(name), bytes).expect("write seed");
        }
        println!(
            "{}: {} seeds, {} bytes",
            self.dir.display(),
            self.seeds.len(),
            total
        );
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf();
    let mut vectors = load(&root);
    // Shortest first, so the corpora stay small and fast.
    vectors.sort_by(|a, b| (a.encrypt.len(), a.id.as_str()).cmp(&(b.encrypt.len(), b.id.as_str())));

    envelope(&root, &vectors);
    decrypt_message(&root, &vectors);
    decrypt_unsigned(&root, &vectors);
    base64_decode(&root, &vectors);
    frame_and_pkcs7(&root, &vectors);
    roundtrip(&root, &vectors);
    push_event(&root, &vectors);
    api_response(&root);
}

fn envelope(root: &Path, vectors: &[Vector]) {
    let mut c = Corpus::new(root, "envelope", 12);
    for (name, body) in [
        ("plain-text", "<xml><Encrypt>QUJD</Encrypt></xml>"),
        (
            "decl-bom-comment-attrs",
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- push -->\n<xml a='1'>\n <AppId><![CDATA[wx0]]></AppId>\n <Encrypt >QUJD</Encrypt >\n <Empty/>\n</xml>\n",
        ),
        (
            "to-user-name",
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[x+/=]]></Encrypt><AgentID>1</AgentID></xml>",
        ),
        ("cdata-markup", "<xml><Encrypt><![CDATA[<!DOCTYPE &a;]]></Encrypt></xml>"),
        ("doctype", "<!DOCTYPE x [<!ENTITY a \"b\">]><xml><Encrypt>&a;</Encrypt></xml>"),
    ] {
        c.add(name, body.as_bytes().to_vec());
    }
    let mut shapes = std::collections::BTreeSet::new();
    for v in vectors {
        let Some(env) = &v.envelope else { continue };
        // One vector per envelope shape (the text around the Encrypt value).
        let shape = env.replace(&v.encrypt, "");
        if shapes.insert(shape) {
            c.add(&v.id, env.as_bytes().to_vec());
        }
    }
    c.write();
}

fn decrypt_message(root: &Path, vectors: &[Vector]) {
    let mut c = Corpus::new(root, "decrypt_message", 18);
    let mut families = BTreeMap::new();
    for v in vectors {
        // Up to two vectors per kind and one per rejected family (sig, receiver, padding, ...).
        let family = if v.kind == "reject" {
            v.id.split('-').take(3).collect::<Vec<_>>().join("-")
        } else {
            v.kind.clone()
        };
        let seen = families.entry(family).or_insert(0);
        *seen += 1;
        if *seen > if v.kind == "reject" { 1 } else { 2 } {
            continue;
        }
        // Encrypt-only vectors (echostr, raw rejects) get the usual component envelope.
        let env = v.envelope.clone().unwrap_or_else(|| {
            format!(
                "<xml><AppId><![CDATA[{}]]></AppId><Encrypt><![CDATA[{}]]></Encrypt></xml>",
                v.receiver_id, v.encrypt
            )
        });
        let input = DecryptInput {
            key: v.key,
            flags: 0,
            shrink: 0,
            token: &v.token,
            encoding_aes_key: &v.key_text,
            receiver_id: &v.receiver_id,
            timestamp: &v.timestamp,
            nonce: &v.nonce,
            msg_signature: &v.msg_signature,
            body: env.as_bytes(),
        };
        if let Some(bytes) = input.encode() {
            c.add(&v.id, bytes);
        }
        if v.id.contains("-padding-") || v.id.contains("-frame-") {
            // Same body, signed by the harness: reaches the layers below the signature.
            let signed = DecryptInput {
                flags: SIGN_CORRECTLY | USE_TEXT_KEY,
                ..input
            };
            if let Some(bytes) = signed.encode() {
                c.add(&format!("{}-signed", v.id), bytes);
            }
        }
    }
    c.write();
}

fn decrypt_unsigned(root: &Path, vectors: &[Vector]) {
    let mut c = Corpus::new(root, "decrypt_unsigned", 12);
    // Ciphertexts under the fixed key, as they arrive.
    for v in vectors
        .iter()
        .filter(|v| v.key_text == FIXED_ENCODING_AES_KEY)
    {
        if let Ok(ct) = STANDARD.decode(&v.encrypt) {
            let mut seed = vec![0u8];
            seed.extend_from_slice(&ct);
            c.add(&format!("ct-{}", v.id), seed);
        }
    }
    // Chosen plaintexts (valid and malformed paddings and frames) from the other vectors.
    for v in vectors {
        let family = v.id.contains("-padding-") || v.id.contains("-frame-") || v.kind != "reject";
        if !family || c.seeds.len() >= 10 {
            continue;
        }
        if let Some(plain) = padded_plain(v) {
            let mut seed = vec![1u8];
            seed.extend_from_slice(&plain);
            c.add(&format!("pt-{}", v.id), seed);
        }
    }
    // A frame sealed by the core itself.
    let crypt =
        MsgCrypt::new(FIXED_TOKEN, FIXED_ENCODING_AES_KEY, FIXED_RECEIVER_ID).expect("valid");
    let mut work = [0u8; 64];
    let ct = crypt
        .seal(b"<xml/>", b"0123456789abcdef", &mut work)
        .expect("fits");
    let mut seed = vec![0u8];
    seed.extend_from_slice(ct);
    c.add("ct-core-sealed", seed);
    c.write();
}

fn base64_decode(root: &Path, vectors: &[Vector]) {
    let mut c = Corpus::new(root, "base64_decode", 10);
    // Mode 0: the text as is (the vectors' Encrypt values, valid and rejected alike).
    for v in vectors.iter().take(5) {
        let mut seed = vec![0u8];
        seed.extend_from_slice(v.encrypt.as_bytes());
        c.add(&v.id, seed);
    }
    // Mode 1: data the harness encodes (long enough for many 32-character blocks); mode 3:
    // the same with one byte of the text overwritten.
    let data: Vec<u8> = (0..600u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    for (name, mode, len) in [
        ("encoded-600", 1u8, 600),
        ("encoded-97", 1, 97),
        ("defect-600", 0x53, 600),
    ] {
        let mut seed = vec![mode];
        seed.extend_from_slice(&data[..len]);
        c.add(name, seed);
    }
    c.write();
}

fn frame_and_pkcs7(root: &Path, vectors: &[Vector]) {
    let mut frames = Corpus::new(root, "frame", 10);
    let mut pads = Corpus::new(root, "pkcs7", 10);
    // Valid plaintexts first, then the malformed paddings and frames.
    let valid = vectors.iter().filter(|v| v.kind != "reject").take(3);
    let malformed = vectors
        .iter()
        .filter(|v| v.id.contains("-padding-") || v.id.contains("-frame-"));
    for v in valid.chain(malformed) {
        let Some(plain) = padded_plain(v) else {
            continue;
        };
        if !v.id.contains("-frame-") {
            pads.add(&v.id, plain.clone());
        }
        if let Ok(unpadded) = pkcs7::unpad(&plain) {
            frames.add(&v.id, unpadded.to_vec());
        }
    }
    let mut buf = [0u8; 64];
    let n = frame::encode_into(&mut buf, &[0x41; 16], b"<xml/>", b"wx1").expect("fits");
    frames.add("core-encoded", buf[..n].to_vec());
    frames.add("empty-parts", {
        let n = frame::encode_into(&mut buf, &[0; 16], b"", b"").expect("fits");
        buf[..n].to_vec()
    });
    pads.add("full-block", vec![32u8; 32]);
    frames.write();
    pads.write();
}

fn roundtrip(root: &Path, vectors: &[Vector]) {
    let mut c = Corpus::new(root, "roundtrip", 8);
    for v in vectors.iter().filter(|v| v.kind == "encrypt_deterministic") {
        let (Some(plain), Some(random)) = (&v.plaintext, &v.random16) else {
            continue;
        };
        let Ok(random16) = <[u8; 16]>::try_from(random.as_bytes()) else {
            continue;
        };
        let input = RoundtripInput {
            key: v.key,
            random16,
            token: &v.token,
            receiver_id: &v.receiver_id,
            timestamp: &v.timestamp,
            nonce: &v.nonce,
            message: plain.as_bytes(),
        };
        if let Some(bytes) = input.encode() {
            c.add(&v.id, bytes);
        }
        if c.seeds.len() >= 6 {
            break;
        }
    }
    let bad = RoundtripInput {
        key: [0x5a; 32],
        random16: *b"aaaabbbbccccdddd",
        token: "pamtest",
        receiver_id: "wxb11529c136998cb6",
        timestamp: "12a",
        nonce: "a]]>b",
        message: b"<xml><Content><![CDATA[hi]]></Content></xml>",
    };
    c.add("bad-reply-fields", bad.encode().expect("encodes"));
    c.write();
}

fn push_event(root: &Path, vectors: &[Vector]) {
    let mut c = Corpus::new(root, "push_event", 12);
    // Decrypted component pushes from the vectors, one per InfoType.
    let mut seen = std::collections::BTreeSet::new();
    for v in vectors {
        let Some(plain) = &v.plaintext else { continue };
        let Some(start) = plain.find("<InfoType>") else {
            continue;
        };
        let info = plain[start..]
            .split("</InfoType>")
            .next()
            .unwrap_or_default()
            .to_owned();
        if seen.insert(info) {
            c.add(&v.id, plain.as_bytes().to_vec());
        }
    }
    for (name, xml) in [
        (
            "ticket-plain-text",
            "<xml><AppId>wx0</AppId><CreateTime>1413192605</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>ticket@@@abc</ComponentVerifyTicket></xml>",
        ),
        (
            "fastregister-info",
            "<xml><AppId>wx0</AppId><CreateTime>1</CreateTime><InfoType>notify_third_fasteregister</InfoType><appid>wx1</appid><status>0</status><auth_code>c@@@1</auth_code><msg>OK</msg><info><name>n &amp; m</name><code>1</code></info></xml>",
        ),
        (
            "unknown-info-type",
            "<?xml version=\"1.0\"?><xml><AppId>wx0</AppId><InfoType>notify_new_thing</InfoType><!-- c --><Empty/></xml>",
        ),
        ("entity", "<xml><InfoType>&custom;</InfoType></xml>"),
    ] {
        c.add(name, xml.as_bytes().to_vec());
    }
    c.write();
}

fn api_response(root: &Path) {
    let mut c = Corpus::new(root, "api_response", 20);
    let dir = root.join("vectors/api");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut errors = 0;
    for path in files {
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let Ok(doc) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("x")
            .to_owned();
        if let Some(resp) = doc.get("response") {
            c.add(&stem, serde_json::to_vec(resp).expect("serializes"));
        }
        // A few of the documented error bodies (they all share one shape).
        for (i, e) in doc["errors"].as_array().into_iter().flatten().enumerate() {
            if errors < 4 && i == 0 {
                errors += 1;
                c.add(
                    &format!("{stem}-error"),
                    serde_json::to_vec(e).expect("serializes"),
                );
            }
        }
    }
    c.add(
        "errcode-zero-with-shape",
        br#"{"errcode":0,"errmsg":"ok","component_access_token":"t@@@12345678","expires_in":7200}"#
            .to_vec(),
    );
    c.write();
}
