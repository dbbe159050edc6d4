//! Native benchmarks of the core's hot paths: client authentication, token signing and
//! verification, form and Basic parsing. Run with `cargo bench -p portcullis-core`; the figures
//! inside workerd come from `cargo xtask bench`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use portcullis_core::api::{GrantType, KeyAlg, NewClient, Scope};
use portcullis_core::clients::ClientRecord;
use portcullis_core::crypto::Secrets;
use portcullis_core::form::{parse_basic, Form};
use portcullis_core::testing::{loaded_keys, NativeSignatures, SeqRng, TEST_ADMIN_TOKEN, TEST_KEK};
use portcullis_core::tokens::{self, AccessClaims, Audience};

fn hot_paths(c: &mut Criterion) {
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).expect("secrets");
    let rng = SeqRng::default();
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
    let keys = loaded_keys(KeyAlg::EdDSA);
    let claims = AccessClaims {
        iss: "https://auth.example".into(),
        sub: client.client.client_id.clone(),
        aud: Audience::One("https://api.example".into()),
        jti: "0123456789abcdef0123456789".into(),
        client_id: client.client.client_id.clone(),
        scope: "read".into(),
        extra: serde_json::Map::new(),
        cnf: None,
    };
    let token = futures::executor::block_on(tokens::sign(
        &keys,
        claims.clone(),
        0,
        3600,
        &NativeSignatures::default(),
    ))
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
                &NativeSignatures::default(),
            )))
        });
    });
    c.bench_function("verify access token signature (EdDSA)", |b| {
        b.iter(|| {
            black_box(futures::executor::block_on(tokens::verify_signature(
                black_box(&token),
                &keys,
                &NativeSignatures::default(),
            )))
        });
    });
}

criterion_group!(benches, hot_paths);
criterion_main!(benches);
