//! `cargo xtask dev`: serves the worker with `wrangler dev`, creates the demo scopes and client
//! through the admin API (once; kept in `.wrangler/`), and prints how to get and verify a token.

use std::fs;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::setup::{dev_var, random_b64};
use crate::workspace::Workspace;
use crate::Result;

pub const DEV_PORT: u16 = 8787;

/// Serves the worker with `wrangler dev` and prints how to get a token.
pub fn dev(ws: &Workspace) -> Result {
    let mut child = wrangler_dev(ws, DEV_PORT)?;
    if let Err(e) = wait_ready(DEV_PORT, &mut child, Duration::from_mins(10)) {
        let _ = child.kill();
        return Err(e);
    }
    match provision_demo(ws, DEV_PORT) {
        Ok((id, secret)) => println!(
            "\n==> Portcullis is running on http://127.0.0.1:{DEV_PORT}\n\n    demo client: {id}\n\n    get a token:\n      curl -s -u '{id}:{secret}' -d grant_type=client_credentials -d scope=read http://127.0.0.1:{DEV_PORT}/oauth/token\n\n    verify it:\n      curl -s -X POST -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:{DEV_PORT}/verify\n\n    admin API: Authorization: Bearer <ADMIN_TOKEN from .dev.vars>\n    stop with Ctrl-C\n"
        ),
        Err(e) => eprintln!("could not provision the demo client: {e}"),
    }
    child.wait().map(|_| ()).map_err(|e| e.to_string())
}

fn wrangler_dev(ws: &Workspace, port: u16) -> Result<Child> {
    ws.command(ws.path("node_modules/.bin/wrangler"))
        .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .env("CI", "true")
        .env("WRANGLER_SEND_METRICS", "false")
        .spawn()
        .map_err(|e| format!("starting wrangler: {e}"))
}

/// One JSON request to the local worker; answers the status and the parsed body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let url = format!("http://127.0.0.1:{port}{path}");
    let mut req = ureq::http::Request::builder().method(method).uri(&url);
    if let Some(token) = bearer {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let resp = match body {
        Some(json) => agent.run(
            req.header("content-type", "application/json")
                .body(json.to_string())
                .map_err(|e| e.to_string())?,
        ),
        None => agent.run(req.body(()).map_err(|e| e.to_string())?),
    }
    .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = resp.status().as_u16();
    let value = resp.into_body().read_json().unwrap_or(Value::Null);
    Ok((status, value))
}

/// Creates the demo scopes and client (once; the credentials are kept in `.wrangler/`).
fn provision_demo(ws: &Workspace, port: u16) -> Result<(String, String)> {
    let saved = ws.path(".wrangler/demo-client");
    let admin = dev_var(ws, "ADMIN_TOKEN")?;
    if let Some((id, secret)) = fs::read_to_string(&saved).ok().and_then(|t| {
        t.trim()
            .split_once(':')
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    }) {
        let (status, _) = http(
            port,
            "GET",
            &format!("/admin/v1/clients/{id}"),
            Some(&admin),
            None,
        )?;
        if status == 200 {
            return Ok((id, secret));
        }
    }
    for (name, description) in [("read", "Read your data"), ("write", "Change your data")] {
        let scope = json!({"name": name, "description": description});
        let (status, body) = http(port, "POST", "/admin/v1/scopes", Some(&admin), Some(&scope))?;
        if status != 201 && status != 409 {
            return Err(format!("creating scope {name}: {status} {body}"));
        }
    }
    let client = json!({
        "name": format!("demo-{}", random_b64(3, true)?),
        "grant_types": ["client_credentials"],
        "scopes": ["read", "write"],
        "redirect_uris": [],
        "public": false,
    });
    let (status, body) = http(
        port,
        "POST",
        "/admin/v1/clients",
        Some(&admin),
        Some(&client),
    )?;
    let (Some(id), Some(secret)) = (body["client_id"].as_str(), body["client_secret"].as_str())
    else {
        return Err(format!("creating the demo client: {status} {body}"));
    };
    fs::write(&saved, format!("{id}:{secret}")).map_err(|e| e.to_string())?;
    Ok((id.to_owned(), secret.to_owned()))
}

fn wait_ready(port: u16, child: &mut Child, limit: Duration) -> Result {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("wrangler exited early ({status})"));
        }
        if http(
            port,
            "GET",
            "/.well-known/oauth-authorization-server",
            None,
            None,
        )
        .is_ok_and(|(s, _)| s == 200)
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err("the worker did not come up in time".into())
}
