//! Native benchmarks of the core's hot paths: client authentication, token signing and
//! verification, form and Basic parsing. Run with `cargo bench -p portcullis-core`; the figures
//! inside workerd come from `cargo xtask bench`.

use std::cell::Cell;
use std::hint::black_box;

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion};
use portcullis_core::api::KeyAlg;
use portcullis_core::api::{GrantType, NewClient, Scope};
use portcullis_core::clients::ClientRecord;
use portcullis_core::crypto::Secrets;
use portcullis_core::form::{parse_basic, Form};
use portcullis_core::keys::KeySet;
use portcullis_core::ports::{CryptoError, Es256KeyPair, Rng, Signatures};
use portcullis_core::tokens::{self, AccessClaims, Audience};

const KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct CounterRng(Cell<u8>);

impl Rng for CounterRng {
    fn fill(&self, buf: &mut [u8]) {
        for b in buf {
            self.0.set(self.0.get().wrapping_mul(31).wrapping_add(7));
            *b = self.0.get();
        }
    }
}

/// `EdDSA` never calls the `ES256` port.
struct NoSignatures;

#[async_trait(?Send)]
impl Signatures for NoSignatures {
    async fn generate(&self) -> Result<Es256KeyPair, CryptoError> {
        Err(CryptoError("not in this bench".into()))
    }
    async fn sign(&self, _: &str, _: &[u8], _: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Err(CryptoError("not in this bench".into()))
    }
    async fn verify(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &[u8],
        _: &[u8],
    ) -> Result<bool, CryptoError> {
        Err(CryptoError("not in this bench".into()))
    }
}

fn hot_paths(c: &mut Criterion) {
    let secrets = Secrets::new("bench-admin-token-0123456789", KEK).expect("secrets");
    let rng = CounterRng(Cell::new(1));
    let scope = Scope {
        name: "read".into(),
        description: String::new(),
        created_at: 0,
        version: 1,
    };
    let (client, secret) = ClientRecord::register(
        NewClient {
            name: "bench".into(),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["read".into()],
            ..NewClient::default()
        },
        &[scope],
        &secrets,
        &rng,
        0,
    )
    .expect("client");
    let secret = secret.expect("confidential");
    let set = futures::executor::block_on(KeySet::generate(
        KeyAlg::EdDSA,
        &secrets,
        &rng,
        &NoSignatures,
        0,
    ))
    .expect("keys");
    let keys = set.load(&secrets, 0).expect("load");
    let claims = AccessClaims {
        iss: "https://auth.example".into(),
        sub: client.client.client_id.clone(),
        aud: Audience::One("https://api.example".into()),
        jti: "0123456789abcdef0123456789".into(),
        client_id: client.client.client_id.clone(),
        scope: "read".into(),
        extra: serde_json::Map::new(),
    };
    let token =
        futures::executor::block_on(tokens::sign(&keys, claims.clone(), 0, 3600, &NoSignatures))
            .expect("token");
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{secret}", client.client.client_id)
        )
    );

    c.bench_function("client secret check", |b| {
        b.iter(|| black_box(client.secret_matches(&secrets, black_box(&secret), 1)));
    });
    c.bench_function("parse Basic header", |b| {
        b.iter(|| black_box(parse_basic(black_box(&basic))));
    });
    c.bench_function("parse token form", |b| {
        b.iter(|| {
            black_box(Form::parse(black_box(
                b"grant_type=client_credentials&scope=read",
            )))
        });
    });
    c.bench_function("sign access token (EdDSA)", |b| {
        b.iter(|| {
            black_box(futures::executor::block_on(tokens::sign(
                &keys,
                claims.clone(),
                0,
                3600,
                &NoSignatures,
            )))
        });
    });
    c.bench_function("verify access token signature (EdDSA)", |b| {
        b.iter(|| {
            black_box(futures::executor::block_on(tokens::verify_signature(
                black_box(&token),
                &keys,
                &NoSignatures,
            )))
        });
    });
}

criterion_group!(benches, hot_paths);
criterion_main!(benches);
