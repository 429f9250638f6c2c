//! The central database over TLS: with `sslmode=verify-full` the server's certificate
//! is verified (a trusted CA connects encrypted; an untrusted one is refused, never
//! downgraded to plaintext), and `prefer`/`allow` are refused outright. Runs against
//! the local PostgreSQL that scripts/test starts (Debian enables TLS with its
//! snakeoil certificate for `localhost`).

use sqlx::Connection as _;

use cmr_kiosk::store::{DatabaseUrl, Store, postgres_options};

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn local_url() -> Option<String> {
    match std::env::var("CMR_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must provide CMR_TEST_POSTGRES_URL"
            );
            eprintln!("CMR_TEST_POSTGRES_URL unset: TLS test skipped");
            None
        }
    }
}

/// The test URL with host `localhost` (the certificate's name) and extra parameters.
fn tls_url(base: &str, params: &str) -> String {
    let base = base.replace("@127.0.0.1:", "@localhost:");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{params}")
}

#[test]
fn central_database_tls_is_verified_and_never_downgraded() {
    let Some(base) = local_url() else { return };
    if !std::path::Path::new(SNAKEOIL).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the PostgreSQL server has no certificate"
        );
        eprintln!("{SNAKEOIL} missing: TLS test skipped");
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Trusted CA: connects, and the session really is encrypted.
        let good = tls_url(
            &base,
            &format!("sslmode=verify-full&sslrootcert={SNAKEOIL}"),
        );
        let opts = postgres_options(&DatabaseUrl::new(good.clone())).unwrap();
        let mut conn = sqlx::PgConnection::connect_with(&opts)
            .await
            .expect("verified TLS connects");
        let (ssl,): (bool,) =
            sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert!(ssl, "the connection is encrypted");
        conn.close().await.unwrap();
        Store::open(&good)
            .await
            .expect("the store opens over verified TLS");

        // No trusted CA for the server's self-signed certificate: refused, not downgraded.
        let untrusted = tls_url(&base, "sslmode=verify-full");
        let err = Store::open(&untrusted)
            .await
            .expect_err("an unverifiable server is refused");
        let msg = err.to_string();
        assert!(
            !msg.contains("cmr-test-only"),
            "the password never appears: {msg}"
        );

        // Modes that may silently fall back to plaintext are refused before connecting.
        for mode in ["prefer", "allow"] {
            let err = Store::open(&tls_url(&base, &format!("sslmode={mode}")))
                .await
                .unwrap_err();
            assert!(err.to_string().contains(mode), "{err}");
        }
    });
}
