//! RSA key generation with the prime search spread over all cores.
//!
//! The `rsa` crate searches for p and then q on one thread. Finding a 2048-bit prime is a
//! random walk (candidates are sieved, then tested), so the time to find *two* primes is the
//! time for two independent searches. Here every core searches at once and the first two
//! primes that pass become p and q: with N cores the expected wall time drops by about N.
//! The candidates, the primality test and the key assembly are the `crypto-primes`/`rsa`
//! crates' own; only the scheduling is ours.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use crypto_primes::hazmat::{SetBits, SmallFactorsSieveFactory};
use crypto_primes::{Flavor, is_prime, sieve_and_find};
use rsa::BoxedUint;
use rsa::traits::PublicKeyParts;

use crate::error::{Error, Result};

/// OpenSSH, PuTTY and every modern tool use e = 65537.
const PUBLIC_EXPONENT: u64 = 65537;

/// Generates an RSA private key whose modulus has exactly `bits` bits (`bits` even, ≥ 1024).
pub fn generate(bits: u32) -> Result<rsa::RsaPrivateKey> {
    if bits < 1024 || !bits.is_multiple_of(2) {
        return Err(Error::Rsa(format!("unsupported modulus size {bits}")));
    }
    let prime_bits = bits / 2;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 16);

    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<BoxedUint>();
    let mut workers = Vec::with_capacity(threads);
    for _ in 0..threads {
        let stop = Arc::clone(&stop);
        let tx = tx.clone();
        workers.push(std::thread::spawn(move || {
            search_primes(prime_bits, &stop, &tx);
        }));
    }
    drop(tx);

    let result = assemble(bits, &rx);
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    for w in workers {
        let _ = w.join();
    }
    result
}

/// Keeps finding primes of `prime_bits` bits (top two bits set, so that p·q has exactly twice
/// as many bits) and sends them until told to stop.
fn search_primes(prime_bits: u32, stop: &AtomicBool, tx: &mpsc::Sender<BoxedUint>) {
    let mut rng = rand::rng();
    while !stop.load(Ordering::Relaxed) {
        let Ok(factory) = SmallFactorsSieveFactory::new(Flavor::Any, prime_bits, SetBits::TwoMsb)
        else {
            return;
        };
        // The predicate also answers "found" when asked to stop, so a worker never keeps
        // testing candidates after enough primes are in.
        let found = sieve_and_find(&mut rng, factory, |_rng, candidate: &BoxedUint| {
            stop.load(Ordering::Relaxed) || is_prime(Flavor::Any, candidate)
        });
        match found {
            Ok(Some(p)) if !stop.load(Ordering::Relaxed) => {
                if tx.send(p).is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// Takes primes as they arrive and returns the first valid key: p ≠ q, |p − q| large,
/// gcd(e, λ(n)) = 1 (checked by `from_p_q`), and a modulus of exactly `bits` bits.
fn assemble(bits: u32, rx: &mpsc::Receiver<BoxedUint>) -> Result<rsa::RsaPrivateKey> {
    let recv = || {
        rx.recv()
            .map_err(|_| Error::Rsa("prime search stopped".into()))
    };
    let mut p = recv()?;
    loop {
        let q = recv()?;
        if !far_apart(&p, &q, bits) {
            continue;
        }
        let e = BoxedUint::from(PUBLIC_EXPONENT);
        match rsa::RsaPrivateKey::from_p_q(p.clone(), q.clone(), e) {
            Ok(key) if key.n().bit_width() == bits => return Ok(key),
            // e shares a factor with p−1 or q−1 (about 1 in 32768): replace one prime.
            _ => p = q,
        }
    }
}

/// FIPS 186-5 B.3.1: |p − q| > 2^(bits/2 − 100).
fn far_apart(p: &BoxedUint, q: &BoxedUint, bits: u32) -> bool {
    let diff = if p > q {
        p.wrapping_sub(q)
    } else {
        q.wrapping_sub(p)
    };
    diff.bit_width() > bits / 2 - 100
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PrivateKeyParts;

    #[test]
    fn makes_exact_size_keys_with_standard_exponent() {
        for bits in [1024u32, 2048] {
            let key = generate(bits).unwrap();
            assert_eq!(key.n().bit_width(), bits);
            assert_eq!(key.e(), &BoxedUint::from(PUBLIC_EXPONENT));
            assert_eq!(key.primes().len(), 2);
            key.validate().unwrap();
            assert!(far_apart(&key.primes()[0], &key.primes()[1], bits));
        }
    }

    #[test]
    fn rejects_odd_and_tiny_sizes() {
        assert!(generate(512).is_err());
        assert!(generate(2049).is_err());
    }
}
