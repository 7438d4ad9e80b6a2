//! `memcpy` and `memmove` for Rust's x86_64 musl target, which the image ships.
//!
//! musl's x86_64 `memcpy` copies with `rep movsq` and copies the bytes before an aligned
//! destination and after the last word with single-byte `movsb` loops: a copy of a few bytes
//! costs tens of cycles. A Rust program makes most of its copies that short (a string, a tag
//! name, a JSON token), and they were a fifth of the static build's CPU in an audit of the
//! large benchmark account (docs/BENCHMARKS.md). Here a copy of up to 64 bytes is two to four
//! overlapping loads and stores of the widest size that fits, and a longer one `rep movsb`,
//! which x86_64 CPUs since 2012 (ERMSB) run at full width.
//!
//! The functions take the C names only in a musl build (`target_env = "musl"`): a static link
//! takes an archive's member only for a symbol still undefined, so musl's `memcpy.o` and
//! `memmove.o` are left out; `memmove` is replaced with `memcpy` because musl's calls into
//! musl's `memcpy.o`. Elsewhere they are plain functions, which the tests compare with
//! slice copies at every length, alignment and overlap that takes a different path.
#![no_std]
#![cfg(target_arch = "x86_64")]

use core::arch::asm;

/// Copies `n` bytes from `src` to `dest`; the ranges must not overlap, or `dest` must start
/// before `src` (a forward copy).
///
/// # Safety
/// As `memcpy`: `src` readable and `dest` writable for `n` bytes.
#[inline]
pub unsafe fn copy_forward(dest: *mut u8, src: *const u8, n: usize) {
    if n <= 64 {
        // SAFETY: the caller's contract; n <= 64.
        unsafe { copy_short(dest, src, n) }
    } else {
        // SAFETY: the caller's contract; the direction flag is clear on entry (System V ABI).
        unsafe {
            asm!("rep movsb", inout("rcx") n => _, inout("rdi") dest => _, inout("rsi") src => _, options(nostack, preserves_flags));
        }
    }
}

/// Copies `n` bytes from `src` to `dest`, whose ranges may overlap, as `memmove`.
///
/// # Safety
/// As `memmove`: `src` readable and `dest` writable for `n` bytes.
#[inline]
pub unsafe fn copy_overlapping(dest: *mut u8, src: *const u8, n: usize) {
    if n <= 64 || dest.addr().wrapping_sub(src.addr()) >= n {
        // SAFETY: the caller's contract; short copies read everything before they write, and
        // a forward copy is right when `dest` does not start inside the source.
        unsafe { copy_forward(dest, src, n) }
    } else {
        // `dest` starts inside the source: copy from the last byte down. Backward string moves
        // run a byte at a time, as musl's do a word at a time; Rust shifts long overlapping
        // runs rarely (inserting near the front of a long vector).
        // SAFETY: the caller's contract; n > 64 so `n - 1` is in range; the direction flag is
        // set for the move and cleared again, as the ABI expects.
        unsafe {
            asm!(
                "std",
                "rep movsb",
                "cld",
                inout("rcx") n => _,
                inout("rdi") dest.add(n - 1) => _,
                inout("rsi") src.add(n - 1) => _,
                options(nostack),
            );
        }
    }
}

/// `n <= 64` bytes, every load before the first store, so overlapping ranges copy right.
#[inline(always)]
unsafe fn copy_short(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY (every block): each access is within the first or last `size` bytes of ranges at
    // least `size` long; unaligned reads and writes.
    unsafe {
        if n >= 32 {
            let (a, b) = (load::<u128>(src), load::<u128>(src.add(16)));
            let (c, d) = (load::<u128>(src.add(n - 32)), load::<u128>(src.add(n - 16)));
            store(dest, a);
            store(dest.add(16), b);
            store(dest.add(n - 32), c);
            store(dest.add(n - 16), d);
        } else if n >= 16 {
            let (a, b) = (load::<u128>(src), load::<u128>(src.add(n - 16)));
            store(dest, a);
            store(dest.add(n - 16), b);
        } else if n >= 8 {
            let (a, b) = (load::<u64>(src), load::<u64>(src.add(n - 8)));
            store(dest, a);
            store(dest.add(n - 8), b);
        } else if n >= 4 {
            let (a, b) = (load::<u32>(src), load::<u32>(src.add(n - 4)));
            store(dest, a);
            store(dest.add(n - 4), b);
        } else if n > 0 {
            // 1 to 3 bytes: the first, the middle and the last (some the same).
            let (a, b, c) = (*src, *src.add(n / 2), *src.add(n - 1));
            *dest = a;
            *dest.add(n / 2) = b;
            *dest.add(n - 1) = c;
        }
    }
}

#[inline(always)]
unsafe fn load<T: Copy>(at: *const u8) -> T {
    // SAFETY: the caller's: `at` readable for `size_of::<T>()` bytes.
    unsafe { at.cast::<T>().read_unaligned() }
}

#[inline(always)]
unsafe fn store<T: Copy>(at: *mut u8, value: T) {
    // SAFETY: the caller's: `at` writable for `size_of::<T>()` bytes.
    unsafe { at.cast::<T>().write_unaligned(value) }
}

/// # Safety
/// The C standard's `memcpy`.
#[cfg(target_env = "musl")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the C contract of `memcpy` is `copy_forward`'s.
    unsafe { copy_forward(dest, src, n) };
    dest
}

/// # Safety
/// The C standard's `memmove`.
#[cfg(target_env = "musl")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the C contract of `memmove` is `copy_overlapping`'s.
    unsafe { copy_overlapping(dest, src, n) };
    dest
}

#[cfg(test)]
mod tests;
