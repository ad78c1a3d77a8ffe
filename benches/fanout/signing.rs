//! What signing alone costs on this machine.

use std::time::{Duration, Instant};

use aws_lc_rs::{rand::SystemRandom, rsa::KeyPair, signature::RSA_PKCS1_SHA256};
use base64::{Engine, engine::general_purpose::STANDARD};

/// Wall time of `count` signatures of a 200-byte signing string with the PKCS#8 PEM key
/// `pem`, split over every core.
pub fn floor(pem: &str, count: usize) -> Duration {
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let key = KeyPair::from_pkcs8(&STANDARD.decode(der).unwrap()).unwrap();
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let message = [b'x'; 200];
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(|| {
                let mut signature = vec![0; key.public_modulus_len()];
                for _ in 0..count.div_ceil(cores) {
                    key.sign(
                        &RSA_PKCS1_SHA256,
                        &SystemRandom::new(),
                        &message,
                        &mut signature,
                    )
                    .unwrap();
                }
            });
        }
    });
    started.elapsed()
}
