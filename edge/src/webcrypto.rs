//! Ed25519, ES256 and RS256 on the runtime's WebCrypto (`crypto.subtle`), with imported keys
//! kept per isolate: Ed25519 sign and verify; ES256 generate, sign and verify; RS256 generate
//! and sign (ID tokens) and verify (trusted issuers, ID-token hints).
//!
//! In wasm, Ed25519 costs about 66 µs a signature and 225 µs a verification, pure-Rust P-256
//! about 0.7 ms a signature, and pure-Rust RSA doubles the worker's size; WebCrypto runs
//! natively in workerd. Importing a key is itself costly, so each imported `CryptoKey` is
//! cached by its key id, in caches of at most [`MAX_CACHED_KEYS`] each: keys named by callers
//! (a DPoP proof's key) cannot grow the isolate's memory without bound.

use std::cell::RefCell;
use std::collections::HashMap;

use async_trait::async_trait;
use js_sys::{Array, Object, Reflect, Uint8Array};
use portcullis_core::ports::{CryptoError, Es256KeyPair, Rs256KeyPair, Signatures};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CryptoKey, EcKeyGenParams, EcKeyImportParams, EcdsaParams, RsaHashedImportParams, SubtleCrypto,
    WorkerGlobalScope,
};

thread_local! {
    static ED_SIGNING: RefCell<HashMap<String, CryptoKey>> = RefCell::new(HashMap::new());
    static ED_VERIFYING: RefCell<HashMap<String, CryptoKey>> = RefCell::new(HashMap::new());
    static SIGNING: RefCell<HashMap<String, CryptoKey>> = RefCell::new(HashMap::new());
    static VERIFYING: RefCell<HashMap<String, CryptoKey>> = RefCell::new(HashMap::new());
    static RSA: RefCell<HashMap<String, CryptoKey>> = RefCell::new(HashMap::new());
    static RSA_SIGNING: RefCell<HashMap<String, CryptoKey>> = RefCell::new(HashMap::new());
}

/// The most imported keys one cache holds; a cache that is full is emptied before it takes
/// another key.
const MAX_CACHED_KEYS: usize = 256;

/// The PKCS #8 (RFC 8410 §7) prefix of an Ed25519 private key: what precedes its 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The `Ed25519` algorithm, for importing, signing and verifying.
fn ed25519_params() -> Result<Object, CryptoError> {
    let params = Object::new();
    set(&params, "name", "Ed25519")?;
    Ok(params)
}

/// `RSASSA-PKCS1-v1_5` with SHA-256, for importing an RSA key.
fn rs256_params() -> Result<RsaHashedImportParams, CryptoError> {
    let params = RsaHashedImportParams::new(&JsValue::from_str("SHA-256"));
    set(&params, "name", "RSASSA-PKCS1-v1_5")?;
    Ok(params)
}

/// Ed25519, ES256 and RS256 through `crypto.subtle`.
pub struct WebCryptoSignatures;

fn err(e: impl std::fmt::Debug) -> CryptoError {
    CryptoError(format!("{e:?}"))
}

fn subtle() -> Result<SubtleCrypto, CryptoError> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    Ok(scope.crypto().map_err(err)?.subtle())
}

fn usages(names: &[&str]) -> Array {
    names.iter().map(|n| JsValue::from_str(n)).collect()
}

fn field(obj: &JsValue, name: &str) -> Result<JsValue, CryptoError> {
    Reflect::get(obj, &JsValue::from_str(name)).map_err(err)
}

fn ecdsa_sha256() -> EcdsaParams {
    EcdsaParams::new("ECDSA", &JsValue::from_str("SHA-256"))
}

async fn cached_key(
    cache: &'static std::thread::LocalKey<RefCell<HashMap<String, CryptoKey>>>,
    kid: &str,
    import: impl std::future::Future<Output = Result<CryptoKey, CryptoError>>,
) -> Result<CryptoKey, CryptoError> {
    if let Some(hit) = cache.with(|c| c.borrow().get(kid).cloned()) {
        return Ok(hit);
    }
    let key = import.await?;
    cache.with(|c| {
        let mut keys = c.borrow_mut();
        if keys.len() >= MAX_CACHED_KEYS {
            keys.clear();
        }
        keys.insert(kid.to_owned(), key.clone());
    });
    Ok(key)
}

#[async_trait(?Send)]
impl Signatures for WebCryptoSignatures {
    async fn generate(&self) -> Result<Es256KeyPair, CryptoError> {
        let subtle = subtle()?;
        let params = EcKeyGenParams::new("ECDSA", "P-256");
        let pair = JsFuture::from(
            subtle
                .generate_key_with_object(&params, true, &usages(&["sign", "verify"]))
                .map_err(err)?,
        )
        .await
        .map_err(err)?;
        let (pkcs8, jwk) = export_pair(&subtle, &pair).await?;
        Ok(Es256KeyPair {
            pkcs8,
            x: member(&jwk, "x")?,
            y: member(&jwk, "y")?,
        })
    }

    async fn sign(&self, kid: &str, pkcs8: &[u8], message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signing = SignWith {
            cache: &SIGNING,
            import: &p256_params(),
            sign: &ecdsa_sha256(),
        };
        signing.sign(kid, pkcs8, message).await
    }

    async fn sign_ed25519(
        &self,
        kid: &str,
        seed: &[u8],
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let params = ed25519_params()?;
        let signing = SignWith {
            cache: &ED_SIGNING,
            import: &params,
            sign: &params,
        };
        let pkcs8 = [&ED25519_PKCS8_PREFIX[..], seed].concat();
        signing.sign(kid, &pkcs8, message).await
    }

    async fn verify_ed25519(
        &self,
        cache_key: &str,
        public: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        let subtle = subtle()?;
        let params = ed25519_params()?;
        let key = cached_key(&ED_VERIFYING, cache_key, async {
            let raw: Object = Uint8Array::from(public).into();
            import(&subtle, "raw", &raw, &params, "verify").await
        })
        .await?;
        verify_with(&subtle, &params, &key, signature, message).await
    }

    async fn generate_rs256(&self) -> Result<Rs256KeyPair, CryptoError> {
        let subtle = subtle()?;
        let params = rs256_params()?;
        Reflect::set(
            &params,
            &JsValue::from_str("modulusLength"),
            &JsValue::from(2048),
        )
        .map_err(err)?;
        let exponent: JsValue = Uint8Array::from(&[1u8, 0, 1][..]).into();
        Reflect::set(&params, &JsValue::from_str("publicExponent"), &exponent).map_err(err)?;
        let pair = JsFuture::from(
            subtle
                .generate_key_with_object(&params, true, &usages(&["sign", "verify"]))
                .map_err(err)?,
        )
        .await
        .map_err(err)?;
        let (pkcs8, jwk) = export_pair(&subtle, &pair).await?;
        Ok(Rs256KeyPair {
            pkcs8,
            n: member(&jwk, "n")?,
            e: member(&jwk, "e")?,
        })
    }

    async fn sign_rs256(
        &self,
        kid: &str,
        pkcs8: &[u8],
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let params = rs256_params()?;
        let signing = SignWith {
            cache: &RSA_SIGNING,
            import: &params,
            sign: &params,
        };
        signing.sign(kid, pkcs8, message).await
    }

    async fn verify_rs256(
        &self,
        cache_key: &str,
        n: &str,
        e: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        let subtle = subtle()?;
        let params = rs256_params()?;
        let key = cached_key(&RSA, cache_key, async {
            let jwk = jwk(&[("kty", "RSA"), ("n", n), ("e", e)])?;
            import(&subtle, "jwk", &jwk, &params, "verify").await
        })
        .await?;
        verify_with(&subtle, &params, &key, signature, message).await
    }

    async fn verify(
        &self,
        kid: &str,
        x: &str,
        y: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        let subtle = subtle()?;
        let key = cached_key(&VERIFYING, kid, async {
            let jwk = jwk(&[("kty", "EC"), ("crv", "P-256"), ("x", x), ("y", y)])?;
            import(&subtle, "jwk", &jwk, &p256_params(), "verify").await
        })
        .await?;
        verify_with(&subtle, &ecdsa_sha256(), &key, signature, message).await
    }
}

/// Signing with a PKCS #8 private key, imported once per isolate into `cache`.
struct SignWith<'a> {
    cache: &'static std::thread::LocalKey<RefCell<HashMap<String, CryptoKey>>>,
    /// The `importKey` algorithm.
    import: &'a Object,
    /// The `sign` algorithm.
    sign: &'a Object,
}

impl SignWith<'_> {
    /// `crypto.subtle.sign` of `message` under the key `kid` (`pkcs8`).
    async fn sign(&self, kid: &str, pkcs8: &[u8], message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let subtle = subtle()?;
        let key = cached_key(self.cache, kid, async {
            let der: Object = Uint8Array::from(pkcs8).into();
            import(&subtle, "pkcs8", &der, self.import, "sign").await
        })
        .await?;
        let data: Object = Uint8Array::from(message).into();
        let signature = JsFuture::from(
            subtle
                .sign_with_object_and_buffer_source(self.sign, &key, &data)
                .map_err(err)?,
        )
        .await
        .map_err(err)?;
        Ok(Uint8Array::new(&signature).to_vec())
    }
}

/// A generated pair's private key as PKCS #8 DER and its public key as a JWK object.
async fn export_pair(
    subtle: &SubtleCrypto,
    pair: &JsValue,
) -> Result<(Vec<u8>, JsValue), CryptoError> {
    let private: CryptoKey = field(pair, "privateKey")?.unchecked_into();
    let public: CryptoKey = field(pair, "publicKey")?.unchecked_into();
    let pkcs8 = JsFuture::from(subtle.export_key("pkcs8", &private).map_err(err)?)
        .await
        .map_err(err)?;
    let jwk = JsFuture::from(subtle.export_key("jwk", &public).map_err(err)?)
        .await
        .map_err(err)?;
    Ok((Uint8Array::new(&pkcs8).to_vec(), jwk))
}

/// A string member of an exported JWK.
fn member(jwk: &JsValue, name: &str) -> Result<String, CryptoError> {
    field(jwk, name)?
        .as_string()
        .ok_or_else(|| CryptoError(format!("exported JWK lacks {name}")))
}

fn set(obj: &JsValue, name: &str, value: &str) -> Result<(), CryptoError> {
    Reflect::set(obj, &JsValue::from_str(name), &JsValue::from_str(value))
        .map(|_| ())
        .map_err(err)
}

/// A JWK object from its members.
fn jwk(members: &[(&str, &str)]) -> Result<Object, CryptoError> {
    let obj = Object::new();
    for (name, value) in members {
        set(&obj, name, value)?;
    }
    Ok(obj)
}

fn p256_params() -> EcKeyImportParams {
    let params = EcKeyImportParams::new("ECDSA");
    params.set_named_curve("P-256");
    params
}

/// `crypto.subtle.importKey`, not extractable, for one usage.
async fn import(
    subtle: &SubtleCrypto,
    format: &str,
    data: &Object,
    params: &Object,
    usage: &str,
) -> Result<CryptoKey, CryptoError> {
    let key = JsFuture::from(
        subtle
            .import_key_with_object(format, data, params, false, &usages(&[usage]))
            .map_err(err)?,
    )
    .await
    .map_err(err)?;
    Ok(key.unchecked_into())
}

/// `crypto.subtle.verify`.
async fn verify_with(
    subtle: &SubtleCrypto,
    algorithm: &Object,
    key: &CryptoKey,
    signature: &[u8],
    message: &[u8],
) -> Result<bool, CryptoError> {
    let sig: Object = Uint8Array::from(signature).into();
    let data: Object = Uint8Array::from(message).into();
    let ok = JsFuture::from(
        subtle
            .verify_with_object_and_buffer_source_and_buffer_source(algorithm, key, &sig, &data)
            .map_err(err)?,
    )
    .await
    .map_err(err)?;
    Ok(ok.as_bool().unwrap_or(false))
}
