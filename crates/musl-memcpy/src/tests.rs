//! Each copy against the slice copy of the same bytes, through every path: each length up to
//! past the short copies' widest (64) and the string move's, at each alignment of either end,
//! and every overlap within a long copy's reach in both directions.

extern crate std;

use std::vec;
use std::vec::Vec;

use super::*;

/// Past the short copies (up to 64 bytes) into the string moves.
const LONGEST: usize = 200;
/// A byte pattern whose period (251, prime) no length or shift here is a multiple of.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn a_copy_of_any_length_and_alignment_writes_exactly_its_bytes() {
    for n in (0..=LONGEST).chain([255, 256, 4099, 1 << 20]) {
        for (src_at, dest_at) in (0..16).flat_map(|s| (0..16).map(move |d| (s, d))).filter(|&(s, d)| n <= LONGEST || (s + d) % 5 == 0) {
            let src = pattern(n + src_at);
            let mut dest = vec![0xEE; dest_at + n + 16];
            let mut expected = dest.clone();
            expected[dest_at..dest_at + n].copy_from_slice(&src[src_at..]);
            // SAFETY: both ranges are inside their buffers and do not overlap.
            unsafe { copy_forward(dest.as_mut_ptr().add(dest_at), src.as_ptr().add(src_at), n) };
            assert!(dest == expected, "n={n} src_at={src_at} dest_at={dest_at}");
        }
    }
}

/// `n` bytes of a buffer moved from `from` to `to` (which may overlap) with `copy_overlapping`
/// and with `copy_within`; the whole buffer must come out the same.
fn assert_moved_as_memmove(n: usize, from: usize, shift: isize) {
    let to = from.checked_add_signed(shift).unwrap();
    let mut buffer = pattern(from.max(to) + n + 16);
    let mut expected = buffer.clone();
    expected.copy_within(from..from + n, to);
    let base = buffer.as_mut_ptr();
    // SAFETY: both ranges are inside the buffer.
    unsafe { copy_overlapping(base.add(to), base.add(from), n) };
    assert!(buffer == expected, "n={n} shift={shift}");
}

#[test]
fn an_overlapping_copy_moves_as_memmove_does() {
    for n in 0..=LONGEST {
        for shift in -70..=70 {
            assert_moved_as_memmove(n, 80, shift);
        }
    }
}

#[test]
fn a_long_overlapping_copy_moves_in_either_direction() {
    for (n, shift) in [(4099, 1), (4099, -1), (4099, 3000), (4099, -3000), (1 << 16, 64), (1 << 16, -64)] {
        assert_moved_as_memmove(n, 3000, shift);
    }
}
