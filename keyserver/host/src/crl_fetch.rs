//! Keeping the CRL current: the host fetches the CA's CRL itself (from the
//! key server's `GET /v1/crl`, or wherever its operator points it), verifies
//! it against the installed CA, and fetches again well before its
//! nextUpdate — at the latest half-way to it, at least every `interval`.
//! A fetch that fails is tried again a minute later; while no current CRL
//! is held, orders wait (see [`crate::desk`]).
//!
//! The transport is not what makes a CRL trustworthy — the CA's signature
//! is (RFC 5280 §5) — so the download accepts the key server's certificate
//! whatever it is: a CRL that does not verify under the installed CA is
//! refused, whoever served it.

use std::sync::Arc;
use std::time::Duration;

use crate::Host;

/// Most bytes read as a CRL.
pub const MAX_CRL_BYTES: u64 = 16 * 1024 * 1024;

/// Downloads the CRL at `url`.
pub fn download(url: &str) -> Result<Vec<u8>, String> {
    let config = ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().disable_verification(true).build())
        .timeout_global(Some(Duration::from_secs(20)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut response = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_CRL_BYTES)
        .read_to_vec()
        .map_err(|e| format!("{url}: {e}"))
}

/// Fetches the CRL once and gives it to the host; answers its nextUpdate.
pub fn refresh(host: &Host, url: &str) -> Result<i64, String> {
    let der = download(url)?;
    let crl = host.accept_crl(&der)?;
    tracing::info!(crl_number = ?crl.crl_number, next_update = crl.next_update, "CRL fetched");
    Ok(crl.next_update)
}

/// Seconds until the next fetch after one that gave a CRL current until `next_update`.
fn wait_after(now: i64, next_update: i64, interval: Duration) -> Duration {
    let half_way = u64::try_from((next_update - now) / 2).unwrap_or(0);
    Duration::from_secs(half_way.clamp(5, interval.as_secs().max(5)))
}

/// Runs until the process ends: fetches the CRL, ends orders whose waiting
/// time is over, and does both again in time.
pub async fn run(host: Arc<Host>, url: String, interval: Duration) {
    loop {
        let fetching = host.clone();
        let from = url.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let fetched = refresh(&fetching, &from);
            if let Err(e) = fetching.expire_due() {
                tracing::warn!(error = %e.body.message, "expiring orders failed");
            }
            fetched
        })
        .await;
        let wait = match outcome {
            Ok(Ok(next_update)) => wait_after(host.now(), next_update, interval),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "fetching the CRL failed; trying again in a minute");
                Duration::from_secs(60)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the CRL task failed");
                Duration::from_secs(60)
            }
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_fetch_comes_half_way_to_next_update_at_the_latest() {
        let hour = Duration::from_secs(3600);
        assert_eq!(wait_after(0, 7 * 24 * 3600, hour), hour);
        assert_eq!(wait_after(0, 600, hour), Duration::from_secs(300));
        assert_eq!(wait_after(1000, 900, hour), Duration::from_secs(5));
    }
}
