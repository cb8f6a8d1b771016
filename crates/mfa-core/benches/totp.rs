//! Target 1 of the performance issue: verifying a 6-digit SHA-1 code with a
//! ±1 window costs at most 1.3x a hand-written baseline that keys HMAC-SHA-1
//! once and clones that state for each of the three steps. Both run in the
//! same process, so the ratio holds even on a noisy machine.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use mfa_core::{Totp, TotpConfig, TotpSecret, UnixTime};

const KEY: &[u8; 20] = b"12345678901234567890";
const NOW: u64 = 1_700_000_015;

/// The reference: a pre-keyed HMAC, cloned per step, RFC 4226 truncation,
/// early exit on the first match. No parsing, no constant-time choice.
fn baseline_verify(mac: &Hmac<sha1::Sha1>, code: u32, now: u64) -> Option<u64> {
    let current = now / 30;
    for step in current - 1..=current + 1 {
        let hash = mac
            .clone()
            .chain_update(step.to_be_bytes())
            .finalize()
            .into_bytes();
        let offset = usize::from(hash[19] & 0x0f);
        let word = u32::from_be_bytes([
            hash[offset] & 0x7f,
            hash[offset + 1],
            hash[offset + 2],
            hash[offset + 3],
        ]);
        if word % 1_000_000 == code {
            return Some(step);
        }
    }
    None
}

fn verification(c: &mut Criterion) {
    let secret = TotpSecret::from_bytes(KEY).unwrap();
    let totp = Totp::new(&secret, TotpConfig::default());
    let mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(KEY).unwrap();
    let good = totp.generate(UnixTime(NOW));
    let good_value: u32 = good.parse().unwrap();
    let bad = if good == "000000" {
        "000001".to_owned()
    } else {
        "000000".to_owned()
    };
    let bad_value: u32 = bad.parse().unwrap();
    assert!(baseline_verify(&mac, good_value, NOW).is_some());
    assert!(baseline_verify(&mac, bad_value, NOW).is_none());

    let mut group = c.benchmark_group("totp_verify_sha1_6_digits_window_1");
    group.bench_function("baseline_prekeyed_hmac/reject", |b| {
        b.iter(|| baseline_verify(black_box(&mac), black_box(bad_value), black_box(NOW)))
    });
    group.bench_function("mfa_core/reject", |b| {
        b.iter(|| totp.verify(black_box(&bad), black_box(UnixTime(NOW)), black_box(None)))
    });
    // Both stop at the first matching step: the baseline walks the window
    // up from the oldest step, mfa-core down from the newest; for a code of
    // the current step each computes two HMACs.
    group.bench_function("baseline_prekeyed_hmac/accept", |b| {
        b.iter(|| baseline_verify(black_box(&mac), black_box(good_value), black_box(NOW)))
    });
    group.bench_function("mfa_core/accept", |b| {
        b.iter(|| totp.verify(black_box(&good), black_box(UnixTime(NOW)), black_box(None)))
    });
    group.finish();
}

criterion_group!(benches, verification);
criterion_main!(benches);
