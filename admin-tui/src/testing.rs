//! The real core for tests: [`InProcess`] carries the admin API's requests to
//! `portcullis_core::testing::Harness` (in-memory stores, fixed clock, seeded random source), so
//! the app's tests run against the server's own rules through the same [`Api`] the app uses over
//! HTTP. Also here: failure injection ([`CoreApi::fail_next`]), the sample server the tests
//! start from (seeded through the admin API only), and a driver that runs `update` the way the
//! terminal loop does (commands executed, answers fed back) but synchronously.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::Duration;

use portcullis_core::api::{
    Algorithm, ClientCreated, GrantType, NewClient, NewScope, NewUser, Route, RoutesBody,
    ScopeMode, TrustedIssuer, User,
};
use portcullis_core::error::ErrorBody;
use portcullis_core::http::{Method, Request, Response};
use portcullis_core::testing::{Harness, TEST_ADMIN_TOKEN};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{update, App, Msg};
use crate::client::{segment, AdminApi, Api, ApiResult, Failure, Outgoing, Reply, Transport};
use crate::effects::{execute, Cmd};

/// Where the in-process server says it is reached.
const ORIGIN: &str = "https://auth.test";

/// The redirect URI of the sample's browser client.
const CALLBACK: &str = "https://web.example.com/cb";

/// The PKCE challenge of RFC 7636 appendix B (the sample's codes are never redeemed).
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Work for the thread that owns the core.
type Job = Box<dyn FnOnce(&Harness) + Send>;

/// The real core, in-process, with a failure to answer instead of the next request. The core's
/// in-memory ports are single-threaded (as a Worker isolate is), so one thread owns the
/// [`Harness`] and runs each request in turn; it ends when this is dropped.
pub struct InProcess {
    server: Sender<Job>,
    fail_next: Mutex<Option<Failure>>,
    /// Every request that reached the transport, as `METHOD /path?query`.
    calls: Mutex<Vec<String>>,
}

/// The admin API on the real core in-process.
pub type CoreApi = Api<InProcess>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().expect("test lock")
}

/// What a core keeps between requests, as plain data (the caches aside, which refill).
#[derive(Debug, Clone, Default)]
struct Stored {
    kv: HashMap<String, String>,
    storage: BTreeMap<String, String>,
    grant_storage: BTreeMap<String, String>,
    /// The clock (ms), the random source's position and how many RSA keys were drawn; `None`
    /// for a fresh core's own.
    clock_and_rng: Option<(u64, u64, usize)>,
}

impl Stored {
    fn of(h: &Harness) -> Self {
        Self {
            kv: h.kv.0.borrow().clone(),
            storage: h.storage.0.borrow().clone(),
            grant_storage: h.grant_storage.0.borrow().clone(),
            clock_and_rng: Some((h.clock.0.get(), h.rng.0.get(), h.signatures.rsa_drawn())),
        }
    }

    fn load_into(self, h: &Harness) {
        *h.kv.0.borrow_mut() = self.kv;
        *h.storage.0.borrow_mut() = self.storage;
        *h.grant_storage.0.borrow_mut() = self.grant_storage;
        if let Some((clock, rng, rsa_drawn)) = self.clock_and_rng {
            h.clock.0.set(clock);
            h.rng.0.set(rng);
            h.signatures.set_rsa_drawn(rsa_drawn);
        }
    }
}

impl InProcess {
    /// A core on its own thread, loaded with `stored`.
    fn new(stored: Stored) -> Self {
        let (server, jobs) = mpsc::channel::<Job>();
        thread::spawn(move || {
            let harness = Harness::default();
            stored.load_into(&harness);
            for job in jobs {
                job(&harness);
            }
        });
        Self {
            server,
            fail_next: Mutex::default(),
            calls: Mutex::default(),
        }
    }

    /// Runs `job` on the core's thread and answers what it returns.
    fn on_server<R: Send + 'static>(&self, job: impl FnOnce(&Harness) -> R + Send + 'static) -> R {
        let (tx, rx) = mpsc::channel();
        self.server
            .send(Box::new(move |h| {
                let _ = tx.send(job(h));
            }))
            .expect("the core's thread runs");
        rx.recv().expect("the core answers")
    }
}

impl Transport for InProcess {
    fn exchange(&self, request: Outgoing) -> ApiResult<Reply> {
        lock(&self.calls).push(format!("{} {}", request.method, request.path));
        if let Some(failure) = lock(&self.fail_next).take() {
            return injected(failure);
        }
        let mut req = Request::new(Method::parse(request.method), ORIGIN, &request.path);
        for (name, value) in &request.headers {
            req = req.with_header(name, value);
        }
        if let Some(body) = request.body {
            req = req.with_body(body);
        }
        Ok(self.on_server(move |h| reply(&h.send(req))))
    }
}

/// The core's response as the HTTP transport would have read it. The fixed clock does not move
/// while a request runs, so the round trip takes no time.
fn reply(resp: &Response) -> Reply {
    Reply {
        status: resp.status,
        body: String::from_utf8_lossy(&resp.body).into_owned(),
        took: Duration::ZERO,
    }
}

/// An injected failure: with a status, the server's error body (read by the same code as a real
/// one); without, no answer at all.
fn injected(failure: Failure) -> ApiResult<Reply> {
    let Some(status) = failure.status else {
        return Err(failure);
    };
    let body = ErrorBody {
        error: failure.error,
        error_description: Some(failure.description),
        field: failure.field,
    };
    Ok(Reply {
        status,
        body: serde_json::to_string(&body).expect("error body"),
        took: Duration::ZERO,
    })
}

impl CoreApi {
    /// A fresh, empty server.
    pub fn empty() -> Self {
        Self::loaded(Stored::default())
    }

    fn loaded(stored: Stored) -> Self {
        Api::over(InProcess::new(stored), TEST_ADMIN_TOKEN.to_owned())
    }

    /// The next request fails with `failure` instead of reaching the server.
    pub fn fail_next(&self, failure: Failure) {
        *lock(&self.transport.fail_next) = Some(failure);
    }

    /// Every request so far, as `METHOD /path?query`.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.transport.calls).clone()
    }

    /// How many requests so far start with `prefix` (e.g. `"GET /admin/v1/audit"`).
    pub fn count(&self, prefix: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }

    /// Moves the server's clock on.
    pub fn advance(&self, secs: u64) {
        self.transport.on_server(move |h| h.advance(secs));
    }

    /// The client called `name`.
    pub fn client_named(&self, name: &str) -> portcullis_core::api::Client {
        self.list_clients()
            .expect("clients")
            .into_iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no client {name}"))
    }

    /// The user called `username`.
    pub fn user_named(&self, username: &str) -> User {
        self.list_users()
            .expect("users")
            .into_iter()
            .find(|u| u.username == username)
            .unwrap_or_else(|| panic!("no user {username}"))
    }

    /// `username` signs in with `password` and lets `client_id` have `scope` (space-separated):
    /// the browser flow through the real router, which leaves a grant behind.
    pub fn consent(&self, username: &str, password: &str, client_id: &str, scope: &str) {
        let (username, password) = (username.to_owned(), password.to_owned());
        let url = format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=s\
             &code_challenge={CHALLENGE}&code_challenge_method=S256",
            segment(client_id),
            segment(CALLBACK),
            segment(scope),
        );
        self.transport
            .on_server(move |h| sign_in_and_allow(h, &username, &password, &url));
    }
}

/// Signs in on the login page and allows what the authorization request at `url` asks.
fn sign_in_and_allow(h: &Harness, username: &str, password: &str, url: &str) {
    let page = h.send(Request::new(Method::Get, ORIGIN, "/login"));
    let csrf = hidden(&page)[0].1.clone();
    let signed_in = h.send(form(
        "/login",
        &cookie(&page),
        &[
            ("username", username),
            ("password", password),
            ("csrf_token", &csrf),
        ],
    ));
    assert_eq!(signed_in.status, 303, "signed in");
    let session = cookie(&signed_in);
    let asked = h.send(Request::new(Method::Get, ORIGIN, url).with_header("cookie", &session));
    assert_eq!(asked.status, 200, "the consent page");
    let mut fields = hidden(&asked);
    fields.push(("decision".into(), "allow".into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let allowed = h.send(form("/oauth/authorize", &session, &pairs));
    assert_eq!(allowed.status, 302, "back to the client with a code");
}

/// A form post with a cookie.
fn form(path: &str, cookie: &str, params: &[(&str, &str)]) -> Request {
    let body: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", segment(k), segment(v)))
        .collect();
    Request::new(Method::Post, ORIGIN, path)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("cookie", cookie)
        .with_body(body.join("&"))
}

/// The `name=value` part of the cookie a response sets.
fn cookie(resp: &Response) -> String {
    let set = resp.header_value("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap_or_default().to_owned()
}

/// The hidden fields of a page's form, unescaped.
fn hidden(resp: &Response) -> Vec<(String, String)> {
    String::from_utf8_lossy(&resp.body)
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|input| {
            let (field, tail) = input.split_once("\" value=\"")?;
            let value = tail.split_once('"')?.0;
            Some((field.to_owned(), value.replace("&amp;", "&")))
        })
        .collect()
}

pub fn failure(status: u16, error: &str, description: &str, field: Option<&str>) -> Failure {
    Failure {
        status: Some(status),
        error: error.into(),
        description: description.into(),
        field: field.map(Into::into),
    }
}

/// A confidential machine client with scope `read` for `https://api.example.com`.
fn machine(name: &str) -> NewClient {
    NewClient {
        name: name.into(),
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["read".into()],
        redirect_uris: Vec::new(),
        public: false,
        audiences: vec!["https://api.example.com".into()],
        access_token_ttl: Some(600),
        refresh_token_idle_ttl: None,
        refresh_token_absolute_ttl: None,
        claims: serde_json::Map::new(),
        ..NewClient::default()
    }
}

fn route(path: &str, scopes: &[&str]) -> Route {
    Route {
        path: path.into(),
        methods: Some(vec!["GET".into()]),
        origin: Some("http://127.0.0.1:9000".into()),
        scopes: scopes.iter().map(ToString::to_string).collect(),
        scope_mode: ScopeMode::All,
        audience: None,
        public: false,
        forward_token: false,
        issuer: None,
        resource: None,
        resource_name: None,
        dpop: None,
    }
}

pub fn issuer(iss: &str) -> TrustedIssuer {
    TrustedIssuer {
        issuer: iss.into(),
        jwks_uri: format!("{iss}/.well-known/jwks.json"),
        audiences: vec!["https://api.example.com".into()],
        algorithms: vec![Algorithm::RS256],
        token_types: portcullis_core::api::default_token_types(),
    }
}

/// Creates a client, a second later than the last change.
fn create(api: &CoreApi, new: &NewClient) -> ClientCreated {
    api.advance(1);
    api.create_client(new).expect("client created")
}

/// A server with two scopes, three clients, two users, the first signing keys, two routes, one
/// trusted issuer, and the grants alice and bob gave `web-frontend` — all made through the admin
/// API (and the sign-in pages for the grants), a second apart. Seeded once per test run (the
/// users' password hashes are slow in a debug build); each call answers a core of its own
/// loaded with that state.
pub fn sample() -> CoreApi {
    static SEEDED: OnceLock<Stored> = OnceLock::new();
    let stored = SEEDED.get_or_init(|| {
        let api = CoreApi::empty();
        seed(&api);
        api.transport.on_server(Stored::of)
    });
    CoreApi::loaded(stored.clone())
}

fn seed(api: &CoreApi) {
    for (name, description) in [("read", "Read your data"), ("write", "Change your data")] {
        api.advance(1);
        api.create_scope(&NewScope {
            name: name.into(),
            description: description.into(),
        })
        .expect("scope created");
    }
    create(api, &machine("billing"));
    create(api, &machine("mobile-app"));
    let web = create(
        api,
        &NewClient {
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec!["read".into(), "write".into()],
            redirect_uris: vec![CALLBACK.into()],
            ..machine("web-frontend")
        },
    );
    for username in ["alice", "bob"] {
        api.advance(1);
        api.create_user(&NewUser {
            username: username.into(),
            password: format!("{username}-password"),
            ..NewUser::default()
        })
        .expect("user created");
    }
    api.advance(1);
    api.list_keys().expect("the first signing keys");
    api.advance(1);
    let routes = api.get_routes().expect("routes");
    api.put_routes(
        routes.version,
        &RoutesBody {
            routes: vec![
                route("/api/*", &["read"]),
                Route {
                    public: true,
                    ..route("/health", &[])
                },
            ],
            case_sensitive: false,
        },
    )
    .expect("routes set");
    api.advance(1);
    let issuers = api.get_issuers().expect("issuers");
    api.put_issuers(
        issuers.version,
        &portcullis_core::api::IssuersBody {
            issuers: vec![issuer("https://tenant.auth0.example")],
        },
    )
    .expect("issuers set");
    let web = web.client.client_id;
    api.advance(1);
    api.consent("alice", "alice-password", &web, "read");
    api.advance(1);
    api.consent("bob", "bob-password", &web, "read write");
}

/// Creates and deletes `n` scopes, a second apart: `2n` more audit events, nothing else changed.
pub fn history(api: &CoreApi, n: usize) {
    for i in 0..n {
        api.advance(1);
        let made = api
            .create_scope(&NewScope {
                name: format!("tmp-{i}"),
                description: String::new(),
            })
            .expect("scope created");
        api.delete_scope(&made.name, made.version)
            .expect("scope deleted");
    }
}

/// Applies `msg`, runs every resulting command against `api` and feeds the answers back,
/// until nothing is left. Answers the clipboard writes asked for.
pub fn drive(app: &mut App, api: &CoreApi, msg: Msg) -> Vec<String> {
    let mut copied = Vec::new();
    let mut queue = vec![msg];
    while let Some(msg) = queue.pop() {
        for cmd in update(app, msg) {
            if let Cmd::Copy(text) = &cmd {
                copied.push(text.clone());
            }
            if let Some(answer) = execute(api, cmd) {
                queue.push(Msg::Api(Box::new(answer)));
            }
        }
    }
    copied
}

/// Starts the app against `api` and settles every first call.
pub fn started(api: &CoreApi) -> App {
    let mut app = App::new("http://127.0.0.1:8787");
    let cmds = app.start();
    for cmd in cmds {
        if let Some(answer) = execute(api, cmd) {
            drive(&mut app, api, Msg::Api(Box::new(answer)));
        }
    }
    app
}

/// The message the answer to `cmd` arrives as (for tests that hold an answer back).
pub fn answer_to(api: &CoreApi, cmd: Cmd) -> Msg {
    Msg::Api(Box::new(execute(api, cmd).expect("an admin call")))
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Presses each character of `text` in turn.
pub fn typed(app: &mut App, api: &CoreApi, text: &str) {
    for c in text.chars() {
        drive(app, api, key(KeyCode::Char(c)));
    }
}
