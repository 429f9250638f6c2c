//! The central database over TLS (5.3.3): with `sslmode=verify-full` the server's
//! certificate is verified — a server whose certificate our CA signed for its name
//! connects encrypted; one whose certificate names another host, or that no trusted
//! CA signed, is refused and never downgraded to plaintext — and `prefer`/`allow`
//! are refused outright.
//!
//! The test makes everything it needs: its own CA and server certificates (rcgen),
//! and its own PostgreSQL servers in temporary folders (see `support/pg_tls.rs`).
//! Nothing depends on the machine's host name or its certificates.

use crate::support::pg_tls;

use std::net::{IpAddr, Ipv4Addr};

use sqlx::Connection as _;

use cmr_kiosk::store::{DatabaseUrl, Store, postgres_options};
use pg_tls::{PASSWORD, TestCa, TlsPostgres};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn central_database_tls_is_verified_and_never_downgraded() {
    let ca = TestCa::new();
    let cert = ca.server_cert(&["localhost"], &[LOOPBACK]);
    let Some(server) = TlsPostgres::start(&ca, &cert) else {
        return;
    };
    let ca_file = server.ca_file.display().to_string();
    runtime().block_on(async {
        // Trusted CA, matching name (by DNS name and by address): connects, encrypted.
        for host in ["localhost", "127.0.0.1"] {
            let good = server.url(host, &format!("sslmode=verify-full&sslrootcert={ca_file}"));
            let opts = postgres_options(&DatabaseUrl::new(good.clone())).unwrap();
            let mut conn = sqlx::PgConnection::connect_with(&opts)
                .await
                .unwrap_or_else(|e| panic!("verified TLS connects to {host}: {e:?}"));
            let (ssl,): (bool,) =
                sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            assert!(ssl, "the connection to {host} is encrypted");
            conn.close().await.unwrap();
            Store::open(&good)
                .await
                .expect("the store opens over verified TLS");
        }

        // No trusted CA for the server's certificate: refused, not downgraded.
        let untrusted = server.url("localhost", "sslmode=verify-full");
        let err = Store::open(&untrusted)
            .await
            .expect_err("an unverifiable server is refused");
        let msg = err.to_string();
        assert!(!msg.contains(PASSWORD), "the password never appears: {msg}");

        // Modes that may silently fall back to plaintext are refused before connecting.
        for mode in ["prefer", "allow"] {
            let err = Store::open(&server.url("localhost", &format!("sslmode={mode}")))
                .await
                .unwrap_err();
            assert!(err.to_string().contains(mode), "{err}");
        }
    });
}

#[test]
fn central_database_tls_refuses_a_certificate_for_another_name() {
    let ca = TestCa::new();
    // Signed by the trusted CA, but for another host: verify-full must refuse it.
    let other = ca.server_cert(&["central-db.other.invalid"], &[]);
    let Some(server) = TlsPostgres::start(&ca, &other) else {
        return;
    };
    let ca_file = server.ca_file.display().to_string();
    runtime().block_on(async {
        for host in ["localhost", "127.0.0.1"] {
            let url = server.url(host, &format!("sslmode=verify-full&sslrootcert={ca_file}"));
            let opts = postgres_options(&DatabaseUrl::new(url.clone())).unwrap();
            let err = sqlx::PgConnection::connect_with(&opts)
                .await
                .expect_err("a certificate for another name is refused");
            let detail = format!("{err:?}");
            assert!(
                detail.contains("NotValidForName"),
                "refused for the name, not for something else: {detail}"
            );
            let err = Store::open(&url)
                .await
                .expect_err("the store refuses it too");
            assert!(!err.to_string().contains(PASSWORD), "{err}");
        }
        // verify-ca checks the chain only, so the same server is accepted: the CA is
        // really trusted and the refusal above was the name check.
        let url = server.url(
            "localhost",
            &format!("sslmode=verify-ca&sslrootcert={ca_file}"),
        );
        let opts = postgres_options(&DatabaseUrl::new(url)).unwrap();
        let conn = sqlx::PgConnection::connect_with(&opts)
            .await
            .expect("verify-ca accepts a CA-signed certificate whatever its name");
        conn.close().await.unwrap();
    });
}

/// TLS that does not verify a remote server is refused when the configuration is
/// validated, and by the store before it connects, unless the loudly named
/// `database.insecure_allow_unverified_tls` accepts the risk (issue 20).
#[test]
fn clause_5_3_3_unverified_tls_to_a_remote_database_is_refused_at_validation() {
    use cmr_kiosk::config::Config;
    let config = |url: &str, insecure: bool| {
        Config::parse(&format!(
            "[database]\ncentral_url = \"{url}\"\ninsecure_allow_unverified_tls = {insecure}\n"
        ))
    };
    let remote = "postgres://cmr:secret@central-db.hospital.invalid/cmr";
    for mode in ["require", "disable"] {
        let url = format!("{remote}?sslmode={mode}");
        let err = config(&url, false).expect_err("refused without the insecure key");
        let msg = err.to_string();
        assert!(msg.contains("database.central_url"), "{msg}");
        assert!(msg.contains("insecure_allow_unverified_tls"), "{msg}");
        assert!(!msg.contains("secret"), "the password never appears: {msg}");
        config(&url, true).expect("accepted when the risk is accepted by name");
    }
    // Verified TLS (explicit, or the default for a remote host) needs no key.
    config(&format!("{remote}?sslmode=verify-full"), false).unwrap();
    config(remote, false).unwrap();
    // This machine may use plaintext or unverified TLS.
    config("postgres://cmr@localhost/cmr?sslmode=disable", false).unwrap();
    config("postgres://cmr@127.0.0.1/cmr?sslmode=require", false).unwrap();
    // Silent fallbacks are refused even with the key.
    assert!(config(&format!("{remote}?sslmode=prefer"), true).is_err());

    // The store refuses the same before any connection is attempted.
    runtime().block_on(async {
        let err = Store::open(&format!("{remote}?sslmode=require"))
            .await
            .expect_err("refused before connecting");
        assert!(
            matches!(err, cmr_kiosk::store::StoreError::InsecureTls { .. }),
            "{err}"
        );
    });
}
