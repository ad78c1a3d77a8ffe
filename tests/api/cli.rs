//! The `onair` binary, run as a user would, beside a running server on the same database.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Output, Stdio},
};

use crate::helpers::{TestApp, add_body, spawn_app, touch_body};

pub fn onair(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    onair_on(&app.database_url, app, args, stdin)
}

/// [`onair`] on another database (a backup, say), with the app's public URL.
pub fn onair_on(database_url: &str, app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onair"));
    clean_env(&mut cmd);
    let mut child = cmd
        .args(args)
        .env("ONAIR_DATABASE_URL", database_url)
        .env("ONAIR_URL", app.url(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("ONAIR_")) {
        cmd.env_remove(key);
    }
}

pub fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed ({:?}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn stderr(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn users_and_tokens_from_the_command_line_drive_the_running_server() {
    let app = spawn_app().await;
    let created = stdout(&onair(
        &app,
        &["user", "create", "Alice"],
        "a good password\n",
    ));
    assert!(created.contains("created broadcaster alice"), "{created}");
    assert!(
        !created.contains("password:"),
        "a password given on stdin is not echoed"
    );
    assert!(
        stderr(&onair(
            &app,
            &["user", "create", "alice"],
            "another password\n"
        ))
        .contains("already exists")
    );
    assert!(stderr(&onair(&app, &["user", "create", "bad name"], "")).contains("not valid"));
    let generated = stdout(&onair(&app, &["user", "create", "root2", "--admin"], ""));
    assert!(
        generated.contains("created admin root2") && generated.contains("password: "),
        "{generated}"
    );

    let out = stdout(&onair(
        &app,
        &["token", "create", "alice", "--label", "studio"],
        "",
    ));
    let yp_url = out.lines().last().unwrap().to_owned();
    assert!(
        yp_url.starts_with(&app.url("/api/icecast/yp/")),
        "the last line is the YP URL: {out}"
    );
    assert!(out.contains(&format!("<directory>\n    <yp-url-timeout>10</yp-url-timeout>\n    <yp-url>{yp_url}</yp-url>\n</directory>")), "{out}");
    let token = yp_url.rsplit('/').next().unwrap().to_owned();
    assert!(
        app.yp(&token, &add_body("CLI FM", "http://radio.example/cli", ""))
            .await
            .ok
    );

    let list = stdout(&onair(&app, &["token", "list", "alice"], ""));
    let line = list.lines().find(|l| l.contains("studio")).unwrap();
    assert!(
        line.ends_with("active") && !line.contains("never"),
        "used tokens show when: {line}"
    );
    assert!(!list.contains(&token), "token secrets are never listed");
    let id = line.split_whitespace().next().unwrap().to_owned();
    assert!(stdout(&onair(&app, &["token", "revoke", &id], "")).contains("revoked"));
    assert!(
        !app.yp(&token, &add_body("CLI FM", "http://radio.example/cli", ""))
            .await
            .ok,
        "revoked at once"
    );
    assert!(stdout(&onair(&app, &["token", "list", "alice"], "")).contains("revoked"));
    assert!(
        stderr(&onair(&app, &["token", "revoke", "9999"], "")).contains("token 9999 not found")
    );
    assert!(stderr(&onair(&app, &["token", "create", "nobody"], "")).contains("no user nobody"));

    let second = stdout(&onair(&app, &["token", "create", "alice"], ""));
    let token = second
        .lines()
        .last()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        app.yp(&token, &add_body("CLI FM", "http://radio.example/cli", ""))
            .await
            .ok
    );
    stdout(&onair(&app, &["user", "disable", "alice"], ""));
    assert!(
        !app.yp(&token, &add_body("CLI FM", "http://radio.example/cli", ""))
            .await
            .ok,
        "disabled at once"
    );
    assert!(
        stderr(&onair(&app, &["token", "create", "alice"], "")).contains("alice is disabled"),
        "no new YP URL for a disabled account: it would not work"
    );
    let users = stdout(&onair(&app, &["user", "list"], ""));
    assert!(
        users
            .lines()
            .any(|l| l.contains("alice") && l.contains("disabled")),
        "{users}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_can_be_listed_and_deleted_when_off_air() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Old Mount", "old").await;
    let list = stdout(&onair(&app, &["stream", "list", "--user", "alice"], ""));
    assert!(
        list.lines()
            .any(|l| l.starts_with("old_mount") && l.contains("live")),
        "{list}"
    );
    assert!(stderr(&onair(&app, &["stream", "delete", "old_mount"], "")).contains("on air"));
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    app.advance_and_reap(3600).await;
    assert!(
        stdout(&onair(&app, &["stream", "delete", "@Old_Mount"], "")).contains("deleted"),
        "as YPMessage spells it"
    );
    assert_eq!(app.get_json("/api/v1/streams/old_mount").await.0, 404);
    assert!(stdout(&onair(&app, &["migrate"], "")).contains("0 migration(s) applied"));
    assert!(stdout(&onair(&app, &["queue", "status"], "")).contains("no deliveries"));
    assert!(stderr(&onair(&app, &["follower", "list", "nobody"], "")).contains("no stream nobody"));
    let token = app.broadcaster("carol").await;
    app.add(&token, "Kept", "kept").await;
    assert!(stdout(&onair(&app, &["follower", "list", "@Kept"], "")).contains("no followers"));
    // The handle as the pages show it, with the host.
    assert!(
        stdout(&onair(
            &app,
            &[
                "follower",
                "list",
                &format!("@kept@localhost:{}", app.addr.port())
            ],
            ""
        ))
        .contains("no followers")
    );
    let other = stderr(&onair(
        &app,
        &["follower", "list", "@kept@elsewhere.example"],
        "",
    ));
    assert!(other.contains("not of this instance"), "{other}");
    let list = stdout(&onair(&app, &["stream", "list"], ""));
    assert!(list.contains("owner") && list.contains("carol"), "{list}");
    assert!(
        stderr(&onair(
            &app,
            &["follower", "approve", "kept", "http://x.example/u"],
            ""
        ))
        .contains("does not follow")
    );
    assert!(
        stderr(&onair(&app, &["follower", "approval", "kept", "maybe"], ""))
            .contains("invalid value")
    );
    assert!(
        stdout(&onair(&app, &["stream", "on-end", "@Kept", "update"], "")).contains(": update")
    );
    app.advance_and_reap(3600).await;
    let (_, outbox) = app.get_json("/streams/kept/outbox").await;
    assert_eq!(
        outbox["totalItems"], 1,
        "the ended broadcast's post is kept"
    );
    assert!(
        stderr(&onair(&app, &["stream", "on-end", "kept", "vanish"], "")).contains("invalid value")
    );
    // How posts read: each option changes only itself; bad input says what to write.
    let posts = stdout(&onair(
        &app,
        &[
            "stream",
            "posts",
            "kept",
            "--title-edits",
            "on",
            "--language",
            "pt-BR",
        ],
        "",
    ));
    assert!(
        posts.contains("title edits on, language pt-BR, text \"\""),
        "{posts}"
    );
    let posts = stdout(&onair(
        &app,
        &["stream", "posts", "kept", "--template", "{name}: {title}"],
        "",
    ));
    assert!(
        posts.contains("title edits on, language pt-BR, text \"{name}: {title}\""),
        "{posts}"
    );
    let refused = stderr(&onair(
        &app,
        &["stream", "posts", "kept", "--language", "Portuguese"],
        "",
    ));
    assert!(refused.contains("not a language tag"), "{refused}");
    let refused = stderr(&onair(
        &app,
        &["stream", "posts", "kept", "--template", "{artist}"],
        "",
    ));
    assert!(refused.contains("{artist}"), "{refused}");
    assert!(
        stdout(&onair(&app, &["queue", "retry"], "")).contains("0 failed deliveries queued again")
    );
    assert!(
        stdout(&onair(&app, &["queue", "purge"], "")).contains("0 finished deliveries deleted")
    );
}

#[test]
fn commands_refuse_to_create_a_sqlite_database_by_accident() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onair"));
    clean_env(&mut cmd);
    let out = cmd
        .args(["user", "list"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no database at onair.db"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("onair.db").exists());
}

#[test]
fn bad_configuration_is_named() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onair"));
    clean_env(&mut cmd);
    let out = cmd
        .args(["user", "list"])
        .env("ONAIR_YP_TOUCH_FREQ", "often")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("ONAIR_YP_TOUCH_FREQ"));
    let out = Command::new(env!("CARGO_BIN_EXE_onair"))
        .args(["--config", "/nonexistent.toml", "user", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.toml"));
}

/// `onair serve` with no configuration at all, in an empty directory, as on a fresh machine.
#[tokio::test(flavor = "multi_thread")]
async fn first_start_creates_an_admin_prints_a_yp_url_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_onair"));
        clean_env(&mut cmd);
        // Port 0 instead of 8080, which another process on this machine may hold.
        let mut child = cmd
            .arg("serve")
            .current_dir(dir.path())
            .env("ONAIR_BIND", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Keep reading stderr to the end, so the server never writes into a closed pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(p) = line.split("port=").nth(1) {
                    let _ = tx.send(p.split_whitespace().next().unwrap().parse::<u16>().unwrap());
                }
            }
        });
        let port = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("serve logs its port");
        (child, port)
    };
    let (child, port) = start();
    assert!(
        dir.path().join("onair.db").exists(),
        "SQLite file in the working directory"
    );
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("http://localhost:{port}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    stop(&child);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "SIGTERM is a clean stop: {:?}",
        out.status
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("user:     admin"), "{printed}");
    assert!(
        printed
            .lines()
            .any(|l| l.trim().starts_with("password: ") && l.trim().len() > 20),
        "{printed}"
    );
    let yp_url = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("YP URL: "))
        .unwrap()
        .to_owned();
    assert!(
        yp_url.starts_with("http://localhost:8080/api/icecast/yp/"),
        "{yp_url}"
    );

    let (child, port) = start();
    let token = yp_url.rsplit('/').next().unwrap();
    let res = client
        .post(format!("http://localhost:{port}/api/icecast/yp/{token}"))
        .body(add_body(
            "First Light",
            "http://radio.example/first",
            "ambient",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["YPResponse"], "1", "the printed YP URL works");
    stop(&child);
    let second = child.wait_with_output().unwrap();
    assert!(second.status.success());
    assert!(
        !String::from_utf8(second.stdout)
            .unwrap()
            .contains("password"),
        "printed once only"
    );
}

fn stop(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// `onair backup` while the server serves and writes: the copy is a database onair opens, with
/// the same accounts and streams; an existing file is never overwritten.
#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_serving_opens_with_the_same_accounts_and_streams() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let copy_arg = copy.to_str().unwrap();
    if app.database_url.starts_with("postgres") {
        let refused = stderr(&onair(&app, &["backup", copy_arg], ""));
        assert!(
            refused.contains(&format!("pg_dump --format=custom --file={copy_arg} ")),
            "{refused}"
        );
        assert!(!copy.exists());
        eprintln!("on PostgreSQL: only the refusal (the SQLite copy is tested on SQLite)");
        return;
    }
    let alice = app.broadcaster("alice").await;
    let sid = app.add(&alice, "Backup FM", "backup").await;
    let bob = app.broadcaster("bob").await;
    app.add(&bob, "Spare Room", "spare").await;
    // Touches keep the writer busy while the copy is made.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let touches = tokio::spawn({
        let (client, url, stop) = (
            app.client.clone(),
            app.url(&format!("/api/icecast/yp/{alice}")),
            stop.clone(),
        );
        async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let res = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(touch_body(&sid, &format!("Track {n}"), n))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.headers()["YPResponse"], "1");
            }
            n
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let out = stdout(&onair(&app, &["backup", copy_arg], ""));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let touched = touches.await.unwrap();
    assert!(touched > 1, "touches went on during the backup ({touched})");
    let size = std::fs::metadata(&copy).unwrap().len();
    assert!(
        out.contains(&format!("to {copy_arg} ({size} bytes")),
        "says what it wrote and its size: {out}"
    );

    for list in [&["user", "list"][..], &["stream", "list"]] {
        let original = stdout(&onair(&app, list, ""));
        let copied = stdout(&onair_on(copy_arg, &app, list, ""));
        assert_eq!(original, copied, "{list:?} on the copy");
        assert!(copied.contains("alice") || copied.contains("backup_fm"));
    }
    assert!(stdout(&onair_on(copy_arg, &app, &["stream", "list"], "")).contains("spare_room"));

    let refused = stderr(&onair(&app, &["backup", copy_arg], ""));
    assert!(refused.contains("already exists"), "{refused}");
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), size, "untouched");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    assert!(
        stderr(&onair(&app, &["backup", empty.to_str().unwrap()], "")).contains("already exists"),
        "even an empty file, which SQLite itself would fill"
    );
}

/// On PostgreSQL the command names the tool to use instead, without the password.
#[test]
fn a_backup_of_postgresql_names_pg_dump() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onair"));
    clean_env(&mut cmd);
    let out = cmd
        .args(["backup", "/var/backups/onair.dump"])
        .env(
            "ONAIR_DATABASE_URL",
            "postgres://onair:s3cret@db.invalid:5432/onair",
        )
        .output()
        .unwrap();
    let refused = stderr(&out);
    assert!(
        refused.contains(
            "pg_dump --format=custom --file=/var/backups/onair.dump \
             postgres://onair@db.invalid:5432/onair"
        ),
        "{refused}"
    );
    assert!(refused.contains("pg_restore"), "{refused}");
    assert!(!refused.contains("s3cret"), "{refused}");
}

/// Several processes applying migrations at once, as several `onair serve` do when they start
/// together after an upgrade: none fails, and each migration is applied by exactly one of them
/// (PostgreSQL: the advisory lock; SQLite: the write lock taken before reading what is pending).
#[test]
fn migrations_started_at_once_are_each_applied_once() {
    let db = crate::helpers::TestDb::new();
    let children: Vec<_> = (0..3)
        .map(|_| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_onair"));
            clean_env(&mut cmd);
            cmd.arg("migrate")
                .env("ONAIR_DATABASE_URL", &db.url)
                .current_dir(db.dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = Vec::new();
    for child in children {
        let out = stdout(&child.wait_with_output().unwrap());
        applied.extend(
            out.lines()
                .skip(1)
                .map(|l| l.trim().to_owned())
                .collect::<Vec<_>>(),
        );
    }
    let backend = onair::db::Backend::from_url(&db.url).0;
    let mut all: Vec<String> = onair::db::migrations::names(backend)
        .iter()
        .map(|n| n.replace('-', "").split('_').next().unwrap().to_owned())
        .collect();
    applied.sort();
    all.sort();
    assert_eq!(applied, all, "each migration once, by one of the processes");
}
