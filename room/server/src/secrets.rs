//! The room's secrets and names: room codes, the instructor key, learner tokens and ids.
//!
//! Only the SHA-256 of a learner's token or of the instructor's key is ever stored, so a copy
//! of the room's database can neither report for anyone nor change the pacing.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// Letters and digits that cannot be mistaken for each other when read aloud or off a board:
/// no 0/o, no 1/l. Thirty-two of them, so a random byte modulo the length is unbiased.
const READABLE: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the system's random number generator failed")?;
    Ok(bytes)
}

fn readable(len: usize) -> Result<String> {
    let bytes = random_bytes::<16>()?;
    Ok(bytes[..len]
        .iter()
        .map(|b| char::from(READABLE[usize::from(*b) % READABLE.len()]))
        .collect())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A room code to read aloud, like `k7q-m2x`.
pub fn room_code() -> Result<String> {
    let letters = readable(6)?;
    Ok(format!("{}-{}", &letters[..3], &letters[3..]))
}

/// The instructor's key: 32 hex digits.
pub fn instructor_key() -> Result<String> {
    Ok(hex(&random_bytes::<16>()?))
}

/// A learner's bearer token: 32 random bytes in hex.
pub fn learner_token() -> Result<String> {
    Ok(hex(&random_bytes::<32>()?))
}

/// A learner's id in the room: short, since it is only unique within one room.
pub fn learner_id() -> Result<String> {
    readable(8)
}

pub type TokenHash = [u8; 32];

pub fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares hashes in time that does not depend on where they differ.
pub fn same_hash(given: &TokenHash, expected: &TokenHash) -> bool {
    given
        .iter()
        .zip(expected.iter())
        .fold(0u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}

/// Checks a room code chosen with `--code`: it is typed by learners and put in URLs.
pub fn check_room_code(code: &str) -> Result<()> {
    let fine = !code.is_empty()
        && code.chars().count() <= 32
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    anyhow::ensure!(
        fine,
        "`{code}` cannot be a room code: use 1 to 32 letters, digits, `-` or `_`"
    );
    Ok(())
}

/// Learners may type the code in either case.
pub fn same_room_code(given: &str, code: &str) -> bool {
    given.trim().eq_ignore_ascii_case(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_valid() {
        let code = room_code().unwrap();
        assert_eq!(code.len(), 7);
        assert!(!code.contains(['0', 'o', '1', 'l']));
        check_room_code(&code).unwrap();
        assert_eq!(instructor_key().unwrap().len(), 32);
        assert_eq!(learner_token().unwrap().len(), 64);
        assert!(check_room_code("two words").is_err());
        assert!(same_room_code(" K7Q-m2x ", "k7q-m2x"));
        assert!(same_hash(&token_hash("abc"), &token_hash("abc")));
        assert!(!same_hash(&token_hash("abc"), &token_hash("abd")));
    }
}
